package artenic.bench.kstreams;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;

/**
 * The project's field constraints (schemas/validate.ts), read from the same registered schema:
 * `min`, `max` and finiteness on numbers, `minLength` on strings (after a JavaScript trim),
 * and the `eventTime` field within [minEventTimeMs, now + maxFutureSkewMs].
 */
final class Validator {
  private final long minEventTimeMs;
  private final long maxFutureSkewMs;

  Validator(long minEventTimeMs, long maxFutureSkewMs) {
    this.minEventTimeMs = minEventTimeMs;
    this.maxFutureSkewMs = maxFutureSkewMs;
  }

  void check(GenericRecord value) throws DeadLetterException {
    long max = System.currentTimeMillis() + maxFutureSkewMs;
    String violation = record(value, value.getSchema(), "", max);
    if (violation != null) {
      String code = violation.startsWith("!") ? "EVENT_TIME_OUT_OF_RANGE" : "INVALID_FIELD";
      throw new DeadLetterException(code, violation.startsWith("!") ? violation.substring(1) : violation);
    }
  }

  private String record(GenericRecord rec, Schema schema, String path, long maxEventTime) {
    for (Schema.Field f : schema.getFields()) {
      Object v = rec.get(f.pos());
      String fpath = path.isEmpty() ? f.name() : path + "." + f.name();
      if (Boolean.TRUE.equals(f.getObjectProp("eventTime")) && v instanceof Long t && (t < minEventTimeMs || t > maxEventTime)) {
        return "!" + fpath + " " + Instant.ofEpochMilli(t) + " is outside [" + Instant.ofEpochMilli(minEventTimeMs) + ", " + Instant.ofEpochMilli(maxEventTime) + "]";
      }
      String r = value(v, f.schema(), fpath, f, maxEventTime);
      if (r != null) return r;
    }
    return null;
  }

  private String value(Object v, Schema type, String path, Schema.Field field, long maxEventTime) {
    if (v == null) return null;
    switch (type.getType()) {
      case INT, LONG, FLOAT, DOUBLE -> {
        double d = ((Number) v).doubleValue();
        if (!Double.isFinite(d)) return path + " must be a finite number, got " + d;
        if (field.getObjectProp("min") instanceof Number min && d < min.doubleValue()) return path + " must be >= " + min + ", got " + v;
        if (field.getObjectProp("max") instanceof Number max && d > max.doubleValue()) return path + " must be <= " + max + ", got " + v;
        return null;
      }
      case STRING -> {
        if (field.getObjectProp("minLength") instanceof Number n && Relevance.jsTrim(v.toString()).length() < n.intValue()) return path + " must not be empty";
        return null;
      }
      case UNION -> {
        for (Schema branch : type.getTypes()) {
          if (branch.getType() == Schema.Type.NULL) continue;
          if (!matches(v, branch)) continue;
          return value(v, branch, path, field, maxEventTime);
        }
        return null;
      }
      case RECORD -> {
        return record((GenericRecord) v, type, path, maxEventTime);
      }
      case ARRAY -> {
        List<?> items = (List<?>) v;
        for (int i = 0; i < items.size(); i++) {
          String r = value(items.get(i), type.getElementType(), path + "[" + i + "]", field, maxEventTime);
          if (r != null) return r;
        }
        return null;
      }
      case MAP -> {
        for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
          String r = value(e.getValue(), type.getValueType(), path + "." + e.getKey(), field, maxEventTime);
          if (r != null) return r;
        }
        return null;
      }
      default -> {
        return null;
      }
    }
  }

  private static boolean matches(Object v, Schema branch) {
    return switch (branch.getType()) {
      case INT, LONG, FLOAT, DOUBLE -> v instanceof Number;
      case STRING -> v instanceof CharSequence;
      case RECORD -> v instanceof GenericRecord;
      case ARRAY -> v instanceof List;
      case MAP -> v instanceof Map;
      default -> false;
    };
  }
}
