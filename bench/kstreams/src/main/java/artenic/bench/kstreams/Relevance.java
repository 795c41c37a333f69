package artenic.bench.kstreams;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import org.apache.avro.generic.GenericRecord;

/**
 * processors/feedback/relevance.ts and workloadHash.ts, in Java. Every number is a double, as
 * in JavaScript, so that the labels come out bit for bit the same.
 */
final class Relevance {
  /** The `feedback.*` label rules, passed in from the project's configuration. */
  record Rules(
      double optimalCostRatio,
      double optimalDurationRatio,
      double goodCostRatio,
      double goodDurationRatio,
      double adequateCostRatio,
      double adequateDurationRatio,
      double metricRegressionTolerance,
      double metricGainBonus,
      boolean preemptionPenalty) {}

  /** A label, or none (a cancelled job). Ratios are null when there was no estimate. */
  record Result(int label, Double costRatio, Double durationRatio, Double metricImprovement) {}

  private Relevance() {}

  private static Double ratio(double actual, double estimated) {
    return estimated > 0 ? actual / estimated : null;
  }

  private static int bucket(Double r, double optimal, double good, double adequate) {
    if (r == null) return 3;
    if (r <= optimal) return 4;
    if (r <= good) return 3;
    if (r <= adequate) return 2;
    return 1;
  }

  static Double metricImprovement(Double base, String goal, Double metric) {
    if (base == null || metric == null || base == 0) return null;
    double change = (metric - base) / Math.abs(base);
    return "MINIMIZE".equals(goal) ? -change : change;
  }

  static Result label(GenericRecord d, GenericRecord o, Rules rules) {
    Double costRatio = ratio((Double) o.get("cost_usd"), (Double) d.get("estimated_cost_usd"));
    Double durationRatio = ratio((Double) o.get("duration_s"), (Double) d.get("estimated_duration_s"));
    Double improvement = metricImprovement((Double) d.get("baseline_metric"), d.get("metric_goal").toString(), (Double) o.get("metric"));
    String status = o.get("status").toString();
    if (status.equals("CANCELLED")) return null;
    if (!status.equals("SUCCEEDED")) return new Result(0, costRatio, durationRatio, improvement);
    int label = Math.min(
        bucket(costRatio, rules.optimalCostRatio(), rules.goodCostRatio(), rules.adequateCostRatio()),
        bucket(durationRatio, rules.optimalDurationRatio(), rules.goodDurationRatio(), rules.adequateDurationRatio()));
    if (improvement != null && improvement < rules.metricRegressionTolerance()) label = Math.max(1, label - 1);
    else if (improvement != null && improvement >= rules.metricGainBonus()) label = Math.min(4, label + 1);
    if (rules.preemptionPenalty() && (Integer) o.get("preemption_count") > 0 && !(Boolean) d.get("checkpointing")) label = Math.max(1, label - 1);
    return new Result(label, costRatio, durationRatio, improvement);
  }

  /** JavaScript's Math.round: halves go up (towards +Infinity). Java's Math.round does the same. */
  private static long log2Bucket(double x) {
    return x <= 0 ? 0 : Math.round(Math.log(x) / Math.log(2));
  }

  /** The ranking query id of a workload: workloadHash.ts. */
  static String workloadHash(GenericRecord w) {
    String canonical = String.join("|",
        w.get("framework").toString(),
        jsTrim(w.get("model_family").toString()).toLowerCase(Locale.ROOT),
        "p" + log2Bucket(((Long) w.get("param_count")).doubleValue()),
        "d" + log2Bucket((Double) w.get("dataset_size_gb")),
        "m" + (long) Math.ceil((Double) w.get("gpu_memory_required_gb") / 8),
        "g" + w.get("num_gpus"),
        (Boolean) w.get("distributed") ? "dist" : "single");
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest).substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** String.prototype.trim: JavaScript's white space and line terminators, not Java's. */
  static String jsTrim(String s) {
    int start = 0;
    int end = s.length();
    while (start < end && isJsSpace(s.charAt(start))) start++;
    while (end > start && isJsSpace(s.charAt(end - 1))) end--;
    return s.substring(start, end);
  }

  private static boolean isJsSpace(char c) {
    return c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r' || c == ' ' || c == 0xA0 || c == 0x1680
        || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
  }
}
