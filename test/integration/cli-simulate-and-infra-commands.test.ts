/**
 * The two CLI commands that talk to infrastructure rather than ClickHouse: `simulate` publishes
 * generated traffic to the configured broker for the time asked and exits 0; `infra` starts a
 * local Kafka and registry, prints how to reach them, serves clients, and stops them on SIGTERM.
 */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { REPO_ROOT } from '../../infra/local/localStack.ts';
import { envOf, testConfig, testKafka } from '../helpers/testConfig.ts';

const run = promisify(execFile);
const BIN = join(REPO_ROOT, 'bin', 'artenic-optimizer.mjs');

describe('CLI simulate and infra', () => {
  it('simulate publishes dispatches, outcomes, accesses and the catalog, then exits 0', async () => {
    const config = testConfig();
    const { stdout, stderr } = await run(process.execPath, [BIN, 'simulate', '--jobs-per-second', '50', '--duration', '3', '--seed', '3'], { env: { ...process.env, ...envOf(config) }, cwd: REPO_ROOT, timeout: 90_000 });
    expect(stderr).not.toMatch(/Error/);
    void stdout;
    const admin = testKafka(config).admin();
    await admin.connect();
    try {
      const count = async (topic: string) => (await admin.fetchTopicOffsets(topic)).reduce((n, o) => n + Number(o.high), 0);
      expect(await count(config.topics['job-dispatch'])).toBeGreaterThan(100);
      expect(await count(config.topics['job-outcome'])).toBeGreaterThan(0);
      expect(await count(config.topics['dataset-access'])).toBeGreaterThan(0);
      expect(await count(config.topics['instance-catalog'])).toBeGreaterThan(0);
    } finally {
      await admin.disconnect();
    }
  });

  it('infra starts a broker and a registry that answer, and stops them on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'infra'], { cwd: REPO_ROOT, env: { ...process.env, ARTENIC_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    // Whatever fails below, the stack it started must not outlive the test.
    onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGTERM');
    });
    const printed = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`infra printed nothing usable: ${out}`)), 150_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (/ARTENIC_REGISTRY_URL=\S+/.test(out)) {
          clearTimeout(timer);
          resolve(out);
        }
      });
    });
    const brokers = /ARTENIC_KAFKA_BROKERS=(\S+)/.exec(printed)?.[1] as string;
    const registry = /ARTENIC_REGISTRY_URL=(\S+)/.exec(printed)?.[1] as string;
    expect(brokers).toMatch(/^127\.0\.0\.1:\d+$/);
    const admin = new Kafka({ clientId: 'infra-test', brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'infra-check', numPartitions: 1 }] });
    expect(await admin.listTopics()).toContain('infra-check');
    await admin.disconnect();
    expect((await fetch(`${registry}/subjects`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(fetch(`${registry}/subjects`)).rejects.toThrow();
  });
});
