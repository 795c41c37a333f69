package artenic.bench.kstreams;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * One job's join state (processors/feedback/join.ts): the side that arrived first, or the
 * marker a completed job leaves behind so duplicates are recognised. The store holds it
 * serialised, as Kafka Streams stores do: flags, expiresAt, completedAt, then each side's
 * Avro body in its topic's registered schema.
 */
record PendingJob(GenericRecord dispatch, GenericRecord outcome, Long completedAt, long expiresAt) {
  private static final int DISPATCH = 1;
  private static final int OUTCOME = 2;
  private static final int COMPLETED = 4;

  static PendingJob completed(long completedAt, long expiresAt) {
    return new PendingJob(null, null, completedAt, expiresAt);
  }

  /** Serde over the two topics' codecs; used by the one stream thread only. */
  static Serde<PendingJob> serde(TopicCodec dispatchCodec, TopicCodec outcomeCodec) {
    Serializer<PendingJob> serializer = (topic, p) -> {
      if (p == null) return null;
      byte[] d = p.dispatch() == null ? null : dispatchCodec.encodeBody(p.dispatch());
      byte[] o = p.outcome() == null ? null : outcomeCodec.encodeBody(p.outcome());
      int size = 1 + 8 + (p.completedAt() == null ? 0 : 8) + (d == null ? 0 : 4 + d.length) + (o == null ? 0 : 4 + o.length);
      ByteBuffer b = ByteBuffer.allocate(size);
      b.put((byte) ((d == null ? 0 : DISPATCH) | (o == null ? 0 : OUTCOME) | (p.completedAt() == null ? 0 : COMPLETED)));
      b.putLong(p.expiresAt());
      if (p.completedAt() != null) b.putLong(p.completedAt());
      if (d != null) b.putInt(d.length).put(d);
      if (o != null) b.putInt(o.length).put(o);
      return b.array();
    };
    Deserializer<PendingJob> deserializer = (topic, bytes) -> {
      if (bytes == null) return null;
      ByteBuffer b = ByteBuffer.wrap(bytes);
      int flags = b.get();
      long expiresAt = b.getLong();
      Long completedAt = (flags & COMPLETED) != 0 ? b.getLong() : null;
      try {
        GenericRecord d = null;
        GenericRecord o = null;
        if ((flags & DISPATCH) != 0) {
          int n = b.getInt();
          d = dispatchCodec.decodeBody(bytes, b.position(), n);
          b.position(b.position() + n);
        }
        if ((flags & OUTCOME) != 0) {
          int n = b.getInt();
          o = outcomeCodec.decodeBody(bytes, b.position(), n);
        }
        return new PendingJob(d, o, completedAt, expiresAt);
      } catch (IOException e) {
        throw new SerializationException("a pending job in the store does not decode", e);
      }
    };
    return org.apache.kafka.common.serialization.Serdes.serdeFrom(serializer, deserializer);
  }
}
