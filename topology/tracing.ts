/**
 * OpenTelemetry traces, off unless `tracing.enabled`. When on, a tracer provider exports
 * spans over OTLP/HTTP to `tracing.endpoint`: one span per committed batch (its source,
 * records and duration: decode, process, transaction), one per ClickHouse insert, under the
 * service's name. When off, nothing is registered and the API's no-op tracer costs nothing.
 * Spans are recorded from the components' hooks, after the fact with their measured start,
 * so the hot path carries no tracing code.
 */
import { trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Config } from '../config/options.ts';
import type { Logger } from '../common/logger.ts';
import type { ClickHouseSink } from './sink/clickhouseSink.ts';
import type { StreamsApp } from './streamsApp.ts';

export interface Tracing {
  readonly enabled: boolean;
  /** Flushes what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

const OFF: Tracing = { enabled: false, shutdown: async () => undefined };

/** A span that already happened: it started `seconds` ago and ends now. */
function record(tracer: Tracer, name: string, seconds: number, attributes: Record<string, string | number>): void {
  const end = Date.now();
  tracer.startSpan(name, { startTime: end - seconds * 1000, attributes }).end(end);
}

export function startTracing(config: Config, components: { streams: StreamsApp; sink: ClickHouseSink }, logger: Logger): Tracing {
  const t = config.tracing;
  if (!t.enabled) return OFF;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': t.serviceName, 'service.instance.id': config.kafka.applicationId }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(t.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: t.endpoint }), { scheduledDelayMillis: 1000 })],
  });
  provider.register();
  const tracer = trace.getTracer('artenic-optimizer');
  const { streams, sink } = components;
  const onBatch = streams.onBatchCommitted;
  streams.onBatchCommitted = (source, records, seconds) => {
    onBatch?.(source, records, seconds);
    record(tracer, 'artenic.batch', seconds, { 'artenic.source': source, 'messaging.system': 'kafka', 'messaging.batch.message_count': records, 'messaging.consumer.group.name': streams.groupId });
  };
  const onInsert = sink.onInsert;
  sink.onInsert = (rows, seconds) => {
    onInsert?.(rows, seconds);
    record(tracer, 'artenic.clickhouse.insert', seconds, { 'db.system.name': 'clickhouse', 'artenic.rows': rows });
  };
  logger.info({ endpoint: t.endpoint, sampleRatio: t.sampleRatio }, 'OpenTelemetry tracing on');
  return {
    enabled: true,
    shutdown: async () => {
      await provider.shutdown().catch((err: Error) => logger.warn({ err: err.message }, 'tracing shutdown failed'));
    },
  };
}
