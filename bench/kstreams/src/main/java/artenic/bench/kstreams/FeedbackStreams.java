package artenic.bench.kstreams;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaClientSupplier;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.Stores;

/**
 * The Kafka Streams peer of the project's feedback slice, for `make bench`: exactly_once_v2,
 * one stream thread, the Processor API, a logged key-value store, Avro in the Confluent wire
 * format against the project's registry.
 *
 * Usage: java -cp ... artenic.bench.kstreams.FeedbackStreams --config=<json>, where the JSON
 * names bootstrap, registryUrl, applicationId, topics {dispatch, outcome, labels, dlq}, store
 * (memory | rocksdb), commitIntervalMs (optional) and options (the project's settings, see
 * FeedbackProcessor.Options). Reads commands on stdin, one per line: `stats` prints one JSON
 * line of counters; `stop` (or end of input, or SIGTERM) closes the streams client cleanly
 * and exits 0. A stream thread that dies exits 1.
 */
public final class FeedbackStreams {
  private FeedbackStreams() {}

  public static void main(String[] args) throws Exception {
    String configJson = null;
    for (String a : args) if (a.startsWith("--config=")) configJson = a.substring("--config=".length());
    if (configJson == null) {
      System.err.println("usage: FeedbackStreams --config=<json>");
      System.exit(2);
    }
    JsonNode c = new ObjectMapper().readTree(configJson);
    JsonNode topics = c.get("topics");
    JsonNode o = c.get("options");
    Registry registry = new Registry(c.get("registryUrl").asText());
    FeedbackProcessor.Codecs codecs = new FeedbackProcessor.Codecs(
        new TopicCodec(registry, topics.get("dispatch").asText()),
        new TopicCodec(registry, topics.get("outcome").asText()),
        new TopicCodec(registry, topics.get("labels").asText()),
        new TopicCodec(registry, topics.get("dlq").asText()));
    FeedbackProcessor.Options options = new FeedbackProcessor.Options(
        new Relevance.Rules(
            o.get("optimalCostRatio").asDouble(), o.get("optimalDurationRatio").asDouble(),
            o.get("goodCostRatio").asDouble(), o.get("goodDurationRatio").asDouble(),
            o.get("adequateCostRatio").asDouble(), o.get("adequateDurationRatio").asDouble(),
            o.get("metricRegressionTolerance").asDouble(), o.get("metricGainBonus").asDouble(),
            o.get("preemptionPenalty").asBoolean()),
        o.get("pendingTtlMs").asLong(), o.get("completedTtlMs").asLong(), o.get("maxPendingPerPartition").asInt(),
        o.get("graceMs").asLong(), o.get("punctuateIntervalMs").asLong(), o.get("maxRecordBytes").asLong(),
        o.get("minEventTimeMs").asLong(), o.get("maxFutureSkewMs").asLong());
    Counters counters = new Counters();

    boolean rocksdb = "rocksdb".equals(c.path("store").asText("memory"));
    KeyValueBytesStoreSupplier pending = rocksdb ? Stores.persistentKeyValueStore(FeedbackProcessor.PENDING_STORE) : Stores.inMemoryKeyValueStore(FeedbackProcessor.PENDING_STORE);
    KeyValueBytesStoreSupplier meta = rocksdb ? Stores.persistentKeyValueStore(FeedbackProcessor.META_STORE) : Stores.inMemoryKeyValueStore(FeedbackProcessor.META_STORE);
    Topology topology = new Topology();
    topology.addSource("inputs", Serdes.String().deserializer(), Serdes.ByteArray().deserializer(), topics.get("dispatch").asText(), topics.get("outcome").asText());
    topology.addProcessor("feedback", () -> new FeedbackProcessor(options, codecs, counters), "inputs");
    // Caching collapses the changes of a key within a commit interval into one changelog
    // write, as the project's change-logging store does within a transaction.
    topology.addStateStore(Stores.keyValueStoreBuilder(pending, Serdes.String(), PendingJob.serde(codecs.dispatch(), codecs.outcome())).withCachingEnabled().withLoggingEnabled(Map.of()), "feedback");
    topology.addStateStore(Stores.keyValueStoreBuilder(meta, Serdes.String(), Serdes.Long()).withCachingEnabled().withLoggingEnabled(Map.of()), "feedback");
    topology.addSink(FeedbackProcessor.LABELS_SINK, topics.get("labels").asText(), Serdes.String().serializer(), Serdes.ByteArray().serializer(), "feedback");
    topology.addSink(FeedbackProcessor.DLQ_SINK, topics.get("dlq").asText(), Serdes.String().serializer(), Serdes.ByteArray().serializer(), "feedback");

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, c.get("applicationId").asText());
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, c.get("bootstrap").asText());
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    // A short client id keeps thread names apart in /proc (Linux keeps 15 characters):
    // "k-StreamThread-" is the stream thread, "kafka-producer-" its producer's I/O thread.
    props.put(StreamsConfig.CLIENT_ID_CONFIG, "k");
    props.put(StreamsConfig.STATE_DIR_CONFIG, c.path("stateDir").asText(System.getProperty("java.io.tmpdir") + "/kstreams-bench"));
    if (c.has("commitIntervalMs")) props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, c.get("commitIntervalMs").asLong());
    props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");

    KafkaStreams streams = new KafkaStreams(topology, props, new CountingClientSupplier(counters));
    AtomicBoolean failed = new AtomicBoolean(false);
    streams.setUncaughtExceptionHandler(e -> {
      System.err.println("stream thread failed: " + e);
      e.printStackTrace();
      failed.set(true);
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    CountDownLatch done = new CountDownLatch(1);
    streams.setStateListener((next, prev) -> {
      System.err.println("state " + prev + " -> " + next);
      if (next == KafkaStreams.State.ERROR || (next == KafkaStreams.State.NOT_RUNNING && failed.get())) done.countDown();
    });
    AtomicBoolean closing = new AtomicBoolean(false);
    Runnable close = () -> {
      if (!closing.compareAndSet(false, true)) return;
      boolean clean = streams.close(Duration.ofSeconds(30));
      System.out.println("{\"kind\":\"stopped\",\"clean\":" + clean + "}");
      System.out.flush();
      done.countDown();
    };
    Runtime.getRuntime().addShutdownHook(new Thread(close, "shutdown"));
    streams.start();

    Thread commands = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          switch (line.trim()) {
            case "stats" -> {
              System.out.println("{\"kind\":\"stats\",\"state\":\"" + streams.state() + "\",\"labels\":" + counters.labels.sum() + ",\"duplicates\":" + counters.duplicates.sum()
                  + ",\"deadLetters\":" + counters.deadLetters.sum() + ",\"transactions\":" + counters.transactions.sum() + ",\"aborts\":" + counters.aborts.sum()
                  + ",\"commitNanos\":" + counters.commitNanos.sum() + "}");
              System.out.flush();
            }
            case "stop" -> {
              close.run();
              return;
            }
            default -> System.err.println("unknown command: " + line);
          }
        }
      } catch (Exception e) {
        System.err.println("stdin: " + e);
      }
      close.run();
    }, "commands");
    commands.setDaemon(true);
    commands.start();
    done.await();
    if (failed.get()) {
      streams.close(Duration.ofSeconds(10));
      System.exit(1);
    }
    System.exit(0);
  }

  /** Kafka's own clients; the stream thread's producer counts its transactions and the time its commits block. */
  static final class CountingClientSupplier implements KafkaClientSupplier {
    private final Counters counters;

    CountingClientSupplier(Counters counters) {
      this.counters = counters;
    }

    @Override
    public Admin getAdmin(Map<String, Object> config) {
      return Admin.create(config);
    }

    @Override
    public Consumer<byte[], byte[]> getConsumer(Map<String, Object> config) {
      return new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    @Override
    public Consumer<byte[], byte[]> getRestoreConsumer(Map<String, Object> config) {
      return getConsumer(config);
    }

    @Override
    public Consumer<byte[], byte[]> getGlobalConsumer(Map<String, Object> config) {
      return getConsumer(config);
    }

    @Override
    public Producer<byte[], byte[]> getProducer(Map<String, Object> config) {
      return new KafkaProducer<>(new HashMap<>(config), new ByteArraySerializer(), new ByteArraySerializer()) {
        @Override
        public void sendOffsetsToTransaction(Map<TopicPartition, OffsetAndMetadata> offsets, ConsumerGroupMetadata groupMetadata) {
          long t0 = System.nanoTime();
          try {
            super.sendOffsetsToTransaction(offsets, groupMetadata);
          } finally {
            counters.commitNanos.add(System.nanoTime() - t0);
          }
        }

        @Override
        public void commitTransaction() {
          long t0 = System.nanoTime();
          try {
            super.commitTransaction();
            counters.transactions.increment();
          } finally {
            counters.commitNanos.add(System.nanoTime() - t0);
          }
        }

        @Override
        public void abortTransaction() {
          super.abortTransaction();
          counters.aborts.increment();
        }
      };
    }
  }
}
