/**
 * What the fault tests share: a broker and a registry that can be stopped (gracefully or
 * with SIGKILL) and started again on the same address with their data, exactly-once checks
 * of the labels, and ClickHouse read in this process once the service has stopped. Each
 * helper registers its own clean-up, so call them where a test file declares its suite
 * (not inside a hook): vitest takes `afterAll` only there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import type { Kafka } from 'kafkajs';
import type { Config } from '../../config/options.ts';
import { createClickHouse, queryRows, type ClickHouseClient } from '../../infra/clickhouse/client.ts';
import { freePort, startKafka, startRegistry, type KafkaOptions, type RunningService } from '../../infra/local/localStack.ts';
import type { RelevanceLabel } from '../../schemas/generated/records.ts';

/** A local service that keeps its address and its data across stops. */
export interface Restartable {
  /** `host:port` for a broker, the ccompat URL for a registry; fixed at the first start, the same after a restart. */
  readonly address: string;
  readonly running: boolean;
  readonly logFile: string;
  start(): Promise<void>;
  /** SIGTERM waits for a clean shutdown; SIGKILL is a crash. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

function restartable(launch: (first: boolean) => Promise<{ address: string; service: RunningService }>, workDir: string): Restartable {
  let current: RunningService | undefined;
  let logFile = '';
  let address = '';
  const handle: Restartable = {
    get address() {
      if (!address) throw new Error('not started yet');
      return address;
    },
    get running() {
      return current !== undefined;
    },
    get logFile() {
      return logFile;
    },
    async start() {
      if (current) return;
      const started = await launch(!address);
      current = started.service;
      address = started.address;
      logFile = current.logFile;
    },
    async stop(signal = 'SIGTERM') {
      const s = current;
      current = undefined;
      if (!s) return;
      if (signal === 'SIGKILL' && s.process.exitCode === null && s.process.signalCode === null) {
        const exited = new Promise<void>((r) => s.process.once('exit', () => r()));
        s.process.kill('SIGKILL');
        await exited;
      }
      await s.stop();
    },
  };
  afterAll(async () => {
    await handle.stop('SIGKILL');
    rmSync(workDir, { recursive: true, force: true });
  });
  return handle;
}

/** A single-node KRaft broker with a data directory of its own, on free loopback ports chosen at its first start and kept; not started yet. */
export function restartableKafka(options: Pick<KafkaOptions, 'extraProperties' | 'formatArgs'> = {}): Restartable {
  const workDir = mkdtempSync(join(tmpdir(), 'artenic-kafka-'));
  let ports: { port: number; controllerPort: number } | undefined;
  return restartable(async () => {
    ports ??= { port: await freePort(), controllerPort: await freePort() };
    const service = await startKafka({ ...options, ...ports, workDir, keepWorkDir: true });
    return { address: `127.0.0.1:${ports.port}`, service };
  }, workDir);
}

/** Apicurio Registry on a loopback port chosen at its first start and kept, its schemas in an H2 file so that ids survive a restart; not started yet. */
export function restartableRegistry(): Restartable {
  const storageDir = mkdtempSync(join(tmpdir(), 'artenic-registry-'));
  let port: number | undefined;
  return restartable(async () => {
    port ??= await freePort();
    const service = await startRegistry({ port, storageDir });
    return { address: service.url, service };
  }, storageDir);
}

/** Records written to a topic so far (the sum of its partitions' end offsets; transaction markers included). */
export async function endOffsets(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, o) => n + Number(o.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Every expected label exactly once, and each one equal to what the pure function computes. */
export function expectExactlyOnce(labels: RelevanceLabel[], expected: Map<string, RelevanceLabel>): void {
  const seen = new Map<string, number>();
  for (const l of labels) seen.set(l.job_id, (seen.get(l.job_id) ?? 0) + 1);
  expect([...seen].filter(([, n]) => n > 1)).toEqual([]);
  expect([...expected.keys()].filter((id) => !seen.has(id))).toEqual([]);
  expect(labels.length).toBe(expected.size);
  for (const l of labels) expect(l).toEqual(expected.get(l.job_id));
}

/** Polls a running service's /api/status until ClickHouse holds `count` labels (FINAL), or times out. */
export async function waitForLabelsInClickHouse(httpUrl: string, count: number, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let samples = -1;
  while (Date.now() < deadline) {
    const res = await fetch(`${httpUrl}/api/status`).catch(() => undefined);
    if (res?.ok) samples = ((await res.json()) as { optimizer: { samples: number } }).optimizer.samples;
    if (samples >= count) return samples;
    await new Promise((r) => setTimeout(r, 500));
  }
  return samples;
}

/**
 * Opens the embedded ClickHouse of a service that has stopped (one process holds it at a
 * time) and checks, with FINAL, that every expected label is there once, and that raw
 * tables hold the given numbers of distinct events.
 */
export async function expectClickHouseExactlyOnce(config: Config, expected: Map<string, RelevanceLabel>, raw: Record<string, number> = {}): Promise<void> {
  const client: ClickHouseClient = createClickHouse(config.clickhouse);
  const db = config.clickhouse.database;
  try {
    const rows = await queryRows<{ job_id: string; label: number }>(client, `SELECT job_id, label FROM ${db}.relevance_labels FINAL`);
    const ids = rows.map((r) => r.job_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(expected.size);
    for (const r of rows) expect(Number(r.label)).toBe(expected.get(r.job_id)?.label);
    for (const [table, n] of Object.entries(raw)) {
      const [row] = await queryRows<{ n: string }>(client, `SELECT count() AS n FROM ${db}.${table} FINAL`);
      expect({ table, n: Number(row?.n) }).toEqual({ table, n });
    }
  } finally {
    await client.close();
  }
}
