"""A platform written in Python, as the README's "Publishing from other clients" recipe says:
confluent-kafka with the registry's latest schema for each subject (no local schema, no
auto-registration), the murmur2 partitioner, and labels read with read_committed.

  client.py produce  <bootstrap> <registry-url> <records.jsonl>
      publishes each {"topic", "key", "value"} line with AvroSerializer; prints, per record,
      {"topic", "key", "partition"} as it is acknowledged.
  client.py consume  <bootstrap> <registry-url> <topic> <count> <timeout-s>
      reads the topic from the beginning with AvroDeserializer, read_committed, until <count>
      records arrived (then 3 s more, to catch duplicates) or the timeout; prints each value.
  client.py check-schemas <file.avsc>...
      parses each file with fastavro on its own (each must be self-contained).

Test-only (the venv is made by `make interop-venv`); never a runtime dependency.
"""
import datetime
import json
import sys
import time
import uuid

import fastavro
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer


def produce(bootstrap, registry_url, path):
    registry = SchemaRegistryClient({"url": registry_url})
    # The registry's latest schema of each subject (<topic>-value) writes the value: the
    # service registered it, so nothing is registered from here.
    serializer = AvroSerializer(registry, None, conf={"auto.register.schemas": False, "use.latest.version": True})
    key_serializer = StringSerializer("utf_8")
    # librdkafka's default partitioner hashes keys with CRC32; the Java client, kafkajs and
    # this service hash with murmur2. Both sides of a join must agree.
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "enable.idempotence": True, "acks": "all"})
    delivered = []

    def on_delivery(err, msg):
        if err is not None:
            raise RuntimeError(f"delivery failed: {err}")
        delivered.append({"topic": msg.topic(), "key": msg.key().decode("utf-8"), "partition": msg.partition()})

    with open(path, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            topic = record["topic"]
            producer.produce(
                topic,
                key=key_serializer(record["key"]),
                value=serializer(record["value"], SerializationContext(topic, MessageField.VALUE)),
                on_delivery=on_delivery,
            )
            producer.poll(0)
    remaining = producer.flush(60)
    if remaining:
        raise RuntimeError(f"{remaining} records not delivered")
    for d in delivered:
        print(json.dumps(d))


def plain(value):
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    raise TypeError(f"not JSON: {type(value)}")


def consume(bootstrap, registry_url, topic, count, timeout_s):
    registry = SchemaRegistryClient({"url": registry_url})
    deserializer = AvroDeserializer(registry)
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"python-reader-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    seen = 0
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                raise RuntimeError(str(msg.error()))
            value = deserializer(msg.value(), SerializationContext(msg.topic(), MessageField.VALUE))
            print(json.dumps({"partition": msg.partition(), "offset": msg.offset(), "value": value}, default=plain), flush=True)
            seen += 1
            if seen == count:
                deadline = min(deadline, time.monotonic() + 3)
    finally:
        consumer.close()


def check_schemas(paths):
    failed = 0
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                parsed = fastavro.parse_schema(json.load(f), named_schemas={})
            print(f"ok {path} {parsed['name']}")
        except Exception as e:  # noqa: BLE001 - every failure is reported, with its file
            failed += 1
            print(f"FAIL {path} {type(e).__name__}: {e}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "produce":
        produce(*args)
    elif command == "consume":
        consume(args[0], args[1], args[2], int(args[3]), float(args[4]))
    elif command == "check-schemas":
        check_schemas(args)
    else:
        sys.exit(f"unknown command {command}")
