/**
 * OpenTelemetry traces, when enabled, reach an OTLP/HTTP collector: a receiver on loopback
 * stands in for the collector and reads the JSON the exporter sends. Off by default.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../config/options.ts';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { startService, type RunningServiceHandle } from '../../app/service.ts';
import { testConfig, waitUntil } from '../helpers/testConfig.ts';

interface OtlpSpan {
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Array<{ key: string; value: { stringValue?: string; intValue?: string | number } }>;
}

describe('tracing', () => {
  const spans: OtlpSpan[] = [];
  const services: string[] = [];
  const receiver = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as {
        resourceSpans: Array<{ resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
      };
      for (const rs of body.resourceSpans) {
        services.push(String(rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue));
        for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  let service: RunningServiceHandle;

  beforeAll(async () => {
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as AddressInfo).port;
    const config = testConfig({ tracing: { enabled: true, endpoint: `http://127.0.0.1:${port}/v1/traces`, serviceName: 'artenic-test' } });
    service = await startService(config, createLogger('warn'));
    const g = new EventGenerator({ seed: 3, runId: 'trace' });
    const publisher = await Publisher.connect(createKafka(config, createLogger('warn'), '-publisher'), service.serde, config.topics);
    await publisher.addJobs(Array.from({ length: 20 }, (_, i) => g.job(Date.UTC(2026, 4, 1) + i * 60_000)));
    await publisher.close();
  });
  afterAll(async () => {
    await service?.stop();
    receiver.close();
  });

  it('is off by default', () => {
    expect(DEFAULTS.tracing.enabled).toBe(false);
  });

  it('exports a span per committed batch and per ClickHouse insert over OTLP/HTTP', async () => {
    await waitUntil('batch and insert spans', async () => spans.some((s) => s.name === 'artenic.batch') && spans.some((s) => s.name === 'artenic.clickhouse.insert'), 60_000);
    expect(services).toContain('artenic-test');
    const batch = spans.find((s) => s.name === 'artenic.batch' && s.attributes.some((a) => a.key === 'artenic.source' && a.value.stringValue === 'job-dispatch')) as OtlpSpan;
    expect(batch).toBeDefined();
    expect(Number(batch.attributes.find((a) => a.key === 'messaging.batch.message_count')?.value.intValue)).toBeGreaterThan(0);
    expect(BigInt(batch.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(batch.startTimeUnixNano));
  });
});
