package artenic.bench.kstreams;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;

/**
 * Avro in the Confluent wire format for one topic: magic byte 0, the schema id as a 4-byte
 * big-endian int, then the Avro binary body. Values are read with the writer's schema
 * (fetched by id) resolved into the topic's registered schema, and written with the latter.
 * Not thread-safe: one per stream thread (its decoder and encoder are reused).
 */
final class TopicCodec {
  final String topic;
  final int schemaId;
  final Schema schema;
  private final Registry registry;
  private final Map<Integer, GenericDatumReader<GenericRecord>> readers = new HashMap<>();
  private final GenericDatumWriter<GenericRecord> writer;
  private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(1024);
  private BinaryEncoder encoder;
  private BinaryDecoder decoder;

  TopicCodec(Registry registry, String topic) throws IOException {
    this.registry = registry;
    this.topic = topic;
    Registry.Registered registered = registry.latest(topic + "-value");
    this.schemaId = registered.id();
    this.schema = registered.schema();
    this.writer = new GenericDatumWriter<>(schema);
    readers.put(schemaId, new GenericDatumReader<>(schema, schema));
  }

  /** Decodes a framed value; a value at fault is a DeadLetterException with the project's code. */
  GenericRecord decode(byte[] framed) throws DeadLetterException {
    if (framed == null || framed.length == 0) throw new DeadLetterException("EMPTY_VALUE", "record has no value");
    if (framed.length < 5 || framed[0] != 0) {
      throw new DeadLetterException("BAD_MAGIC_BYTE", "not in the Confluent wire format (first byte " + framed[0] + ", length " + framed.length + ")");
    }
    int id = ByteBuffer.wrap(framed, 1, 4).getInt();
    GenericDatumReader<GenericRecord> reader = readers.get(id);
    if (reader == null) reader = readerFor(id);
    decoder = DecoderFactory.get().binaryDecoder(framed, 5, framed.length - 5, decoder);
    try {
      return reader.read(null, decoder);
    } catch (IOException | RuntimeException e) {
      throw new DeadLetterException("UNDECODABLE", "Avro body does not decode with schema " + id + ": " + e.getMessage(), e);
    }
  }

  /** Decodes a bare Avro body written with this topic's schema (a store value). */
  GenericRecord decodeBody(byte[] body, int offset, int length) throws IOException {
    decoder = DecoderFactory.get().binaryDecoder(body, offset, length, decoder);
    return readers.get(schemaId).read(null, decoder);
  }

  private GenericDatumReader<GenericRecord> readerFor(int id) throws DeadLetterException {
    Schema writerSchema;
    try {
      writerSchema = registry.schema(id);
    } catch (Registry.NotFoundException e) {
      throw new DeadLetterException("UNKNOWN_SCHEMA", "schema id " + id + " is not in the registry", e);
    } catch (IOException e) {
      // The registry's fault, not the record's: fail the task (it is retried from the committed offsets).
      throw new IllegalStateException("registry unavailable while fetching schema " + id + ": " + e.getMessage(), e);
    }
    SchemaCompatibility.SchemaPairCompatibility compatibility = SchemaCompatibility.checkReaderWriterCompatibility(schema, writerSchema);
    if (compatibility.getType() == SchemaCompatibility.SchemaCompatibilityType.INCOMPATIBLE) {
      throw new DeadLetterException("SCHEMA_MISMATCH", "schema " + id + " cannot be read as " + topic + ": " + compatibility.getDescription());
    }
    GenericDatumReader<GenericRecord> reader = new GenericDatumReader<>(writerSchema, schema);
    readers.put(id, reader);
    return reader;
  }

  /** The bare Avro body of a record of this topic's schema. */
  byte[] encodeBody(GenericRecord value) {
    buffer.reset();
    write(value);
    return buffer.toByteArray();
  }

  /** A record of this topic's schema in the wire format. */
  byte[] encode(GenericRecord value) {
    buffer.reset();
    buffer.write(0);
    buffer.write(schemaId >>> 24);
    buffer.write(schemaId >>> 16);
    buffer.write(schemaId >>> 8);
    buffer.write(schemaId);
    write(value);
    return buffer.toByteArray();
  }

  private void write(GenericRecord value) {
    encoder = EncoderFactory.get().binaryEncoder(buffer, encoder);
    try {
      writer.write(value, encoder);
      encoder.flush();
    } catch (IOException e) {
      throw new IllegalStateException("encoding a " + schema.getFullName() + " failed", e);
    }
  }
}
