package artenic.bench.kstreams;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The feedback slice (processors/feedback/processor.ts and join.ts) on the Processor API:
 * job-dispatch and job-outcome, co-partitioned by job id, decoded and validated here (so a
 * record at fault goes to the DLQ with its bytes, as in the project), joined in a logged
 * key-value store, and labelled into relevance-labels. Stream time is the largest
 * `event_time` seen by the task, kept in a store of its own like the project's task-meta.
 */
final class FeedbackProcessor implements Processor<String, byte[], String, byte[]> {
  static final String PENDING_STORE = "feedback-pending";
  static final String META_STORE = "task-meta";
  static final String LABELS_SINK = "labels";
  static final String DLQ_SINK = "dlq";
  private static final String STREAM_TIME_KEY = "stream-time";

  /** The project's `feedback.*`, `streams.*` and `validation.*` settings this slice uses. */
  record Options(
      Relevance.Rules rules,
      long pendingTtlMs,
      long completedTtlMs,
      int maxPendingPerPartition,
      long graceMs,
      long punctuateIntervalMs,
      long maxRecordBytes,
      long minEventTimeMs,
      long maxFutureSkewMs) {}

  /** Codecs shared by the tasks of the one stream thread. */
  record Codecs(TopicCodec dispatch, TopicCodec outcome, TopicCodec labels, TopicCodec dlq) {}

  private final Options options;
  private final Codecs codecs;
  private final Validator validator;
  private final Counters counters;
  private ProcessorContext<String, byte[]> ctx;
  private KeyValueStore<String, PendingJob> store;
  private KeyValueStore<String, Long> meta;
  private long streamTime;
  private long lastPunctuation = Long.MIN_VALUE;

  FeedbackProcessor(Options options, Codecs codecs, Counters counters) {
    this.options = options;
    this.codecs = codecs;
    this.validator = new Validator(options.minEventTimeMs(), options.maxFutureSkewMs());
    this.counters = counters;
  }

  @Override
  public void init(ProcessorContext<String, byte[]> context) {
    this.ctx = context;
    this.store = context.getStateStore(PENDING_STORE);
    this.meta = context.getStateStore(META_STORE);
    Long restored = meta.get(STREAM_TIME_KEY);
    this.streamTime = restored == null ? Long.MIN_VALUE : restored;
    // The project punctuates after each batch once stream time moved punctuateIntervalMs; here
    // at most once per wall-clock second, on the same stream-time condition.
    context.schedule(Duration.ofSeconds(1), PunctuationType.WALL_CLOCK_TIME, now -> maybePunctuate());
  }

  @Override
  public void process(Record<String, byte[]> record) {
    RecordMetadata source = ctx.recordMetadata().orElseThrow();
    boolean isDispatch = source.topic().equals(codecs.dispatch().topic);
    TopicCodec codec = isDispatch ? codecs.dispatch() : codecs.outcome();
    byte[] raw = record.value();
    GenericRecord value;
    try {
      if (raw != null && raw.length > options.maxRecordBytes()) {
        throw new DeadLetterException("RECORD_TOO_LARGE", "value of " + raw.length + " bytes exceeds validation.maxRecordBytes (" + options.maxRecordBytes() + ")");
      }
      value = codec.decode(raw);
      validator.check(value);
    } catch (DeadLetterException e) {
      Integer schemaId = raw != null && raw.length >= 5 && raw[0] == 0 ? ((raw[1] & 0xff) << 24 | (raw[2] & 0xff) << 16 | (raw[3] & 0xff) << 8 | (raw[4] & 0xff)) : null;
      deadLetter(record.key(), e.code, e.getMessage(), "decode", record.timestamp(), source, codec, schemaId, record.key() == null ? null : record.key().getBytes(StandardCharsets.UTF_8), raw);
      return;
    }
    long eventTime = (Long) value.get("event_time");
    if (eventTime > streamTime) {
      streamTime = eventTime;
      meta.put(STREAM_TIME_KEY, eventTime);
    }
    String jobId = value.get("job_id").toString();
    if (eventTime + options.pendingTtlMs() + options.graceMs() < streamTime) {
      deadLetter(jobId, "LATE_EVENT", "event time " + Instant.ofEpochMilli(eventTime) + " is older than stream time minus TTL and grace", "feedback",
          eventTime, source, codec, codec.schemaId, jobId.getBytes(StandardCharsets.UTF_8), codec.encode(value));
      return;
    }
    PendingJob prev = store.get(jobId);
    if (prev != null && (prev.completedAt() != null || (isDispatch ? prev.dispatch() != null : prev.outcome() != null))) {
      counters.duplicates.increment();
      return;
    }
    GenericRecord other = prev == null ? null : isDispatch ? prev.outcome() : prev.dispatch();
    if (other == null) {
      PendingJob next = isDispatch
          ? new PendingJob(value, null, null, eventTime + options.pendingTtlMs())
          : new PendingJob(null, value, null, eventTime + options.pendingTtlMs());
      store.put(jobId, next);
      if (store.approximateNumEntries() > options.maxPendingPerPartition()) evictOverCapacity();
      return;
    }
    GenericRecord d = isDispatch ? value : other;
    GenericRecord o = isDispatch ? other : value;
    long completedAt = Math.max((Long) d.get("event_time"), (Long) o.get("event_time"));
    store.put(jobId, PendingJob.completed(completedAt, completedAt + options.completedTtlMs()));
    GenericRecord label = buildLabel(d, o);
    if (label != null) {
      ctx.forward(new Record<>(jobId, codecs.labels().encode(label), record.timestamp()), LABELS_SINK);
      counters.labels.increment();
    }
  }

  /** join.ts's buildLabel: field for field, in the label schema's order. */
  private GenericRecord buildLabel(GenericRecord d, GenericRecord o) {
    Relevance.Result result = Relevance.label(d, o, options.rules());
    if (result == null) return null;
    Schema schema = codecs.labels().schema;
    GenericData.Record l = new GenericData.Record(schema);
    String jobId = d.get("job_id").toString();
    l.put("event_id", "label:" + jobId);
    l.put("event_time", o.get("event_time"));
    l.put("job_id", jobId);
    l.put("query_id", Relevance.workloadHash((GenericRecord) d.get("workload")));
    l.put("team", d.get("team"));
    l.put("label", result.label());
    l.put("status", o.get("status"));
    l.put("workload", d.get("workload"));
    l.put("instance", d.get("instance"));
    l.put("cost_usd", o.get("cost_usd"));
    l.put("duration_s", o.get("duration_s"));
    l.put("cost_ratio", result.costRatio());
    l.put("duration_ratio", result.durationRatio());
    l.put("metric_improvement", result.metricImprovement());
    l.put("preemption_count", o.get("preemption_count"));
    l.put("checkpointing", d.get("checkpointing"));
    l.put("dispatch_event_id", d.get("event_id"));
    l.put("outcome_event_id", o.get("event_id"));
    l.put("dispatch_time", d.get("event_time"));
    l.put("metric", o.get("metric"));
    l.put("hpo_study_id", d.get("hpo_study_id"));
    l.put("hpo_trial_id", d.get("hpo_trial_id"));
    return l;
  }

  /** Entries past their TTL plus grace leave the store; a job still waiting goes to the DLQ. */
  private void maybePunctuate() {
    if (streamTime == Long.MIN_VALUE || (lastPunctuation != Long.MIN_VALUE && streamTime - lastPunctuation < options.punctuateIntervalMs())) return;
    lastPunctuation = streamTime;
    List<KeyValue<String, PendingJob>> expired = new ArrayList<>();
    try (KeyValueIterator<String, PendingJob> it = store.all()) {
      while (it.hasNext()) {
        KeyValue<String, PendingJob> kv = it.next();
        if (kv.value.expiresAt() + options.graceMs() < streamTime) expired.add(kv);
      }
    }
    for (KeyValue<String, PendingJob> kv : expired) {
      store.delete(kv.key);
      if (kv.value.completedAt() == null) leave(kv.key, kv.value, false);
    }
  }

  /** Past maxPendingPerPartition, the entries that would expire first leave, plus 1% headroom. */
  private void evictOverCapacity() {
    List<KeyValue<String, PendingJob>> all = new ArrayList<>();
    try (KeyValueIterator<String, PendingJob> it = store.all()) {
      while (it.hasNext()) all.add(it.next());
    }
    int capacity = options.maxPendingPerPartition();
    if (all.size() <= capacity) return;
    int excess = all.size() - capacity + (int) Math.ceil(capacity / 100.0);
    all.sort(Comparator.comparingLong(kv -> kv.value.expiresAt()));
    for (KeyValue<String, PendingJob> kv : all.subList(0, Math.min(excess, all.size()))) {
      store.delete(kv.key);
      leave(kv.key, kv.value, true);
    }
  }

  private void leave(String key, PendingJob p, boolean capacity) {
    boolean dispatch = p.dispatch() != null;
    GenericRecord waiting = dispatch ? p.dispatch() : p.outcome();
    if (waiting == null) return;
    TopicCodec codec = dispatch ? codecs.dispatch() : codecs.outcome();
    String side = dispatch ? "dispatch" : "outcome";
    String missing = dispatch ? "outcome" : "dispatch";
    String code = capacity ? "PENDING_CAPACITY" : dispatch ? "OUTCOME_TIMEOUT" : "ORPHAN_OUTCOME";
    String reason = capacity
        ? "pending store over " + options.maxPendingPerPartition() + " entries; " + side + " evicted before its " + missing + " arrived"
        : "no " + missing + " for job " + key + " within " + options.pendingTtlMs() + " ms of event time";
    deadLetter(key, code, reason, "feedback", (Long) waiting.get("event_time"), null, codec, codec.schemaId, key.getBytes(StandardCharsets.UTF_8), codec.encode(waiting));
  }

  /** A DeadLetter record as the project writes it (topology/streamsApp.ts encodeEmissions). */
  private void deadLetter(String key, String code, String reason, String processor, long eventTime, RecordMetadata source, TopicCodec record, Integer schemaId, byte[] keyBytes, byte[] value) {
    GenericData.Record letter = new GenericData.Record(codecs.dlq().schema);
    String role = record == codecs.dispatch() ? "job-dispatch" : "job-outcome";
    letter.put("event_id", source != null ? "dlq:" + source.topic() + ":" + source.partition() + ":" + source.offset() : "dlq:" + code + ":" + role + ":" + (key == null ? "" : key));
    letter.put("event_time", eventTime);
    letter.put("source_topic", source != null ? source.topic() : record.topic);
    letter.put("source_partition", source != null ? source.partition() : -1);
    letter.put("source_offset", source != null ? source.offset() : -1L);
    letter.put("error_code", code);
    letter.put("reason", reason);
    letter.put("processor", processor);
    letter.put("schema_id", schemaId);
    letter.put("key", keyBytes == null ? null : java.nio.ByteBuffer.wrap(keyBytes));
    letter.put("value", value == null ? null : java.nio.ByteBuffer.wrap(value));
    ctx.forward(new Record<>(key, codecs.dlq().encode(letter), ctx.currentSystemTimeMs()), DLQ_SINK);
    counters.deadLetters.increment();
  }
}
