/**
 * A vital component that stops for good must take the instance out of service: the ClickHouse
 * sink, whose embedded engine (a child process, engineHost.ts) is killed with SIGKILL again and
 * again. The engine proxy respawns it up to `clickhouse.engineMaxRestarts` times within
 * `clickhouse.engineRestartWindowMs`, then gives it up; the sink's next insert fails with a
 * non-retriable CLICKHOUSE_CRASHED, the sink stops and reports to the instance's vitals.
 * Unit tests cover each piece with fakes; this checks the chain on the real stack (broker,
 * registry, chdb in its own process, real kills):
 * - in the test's process (`startService`, whose fatal hook only records): `/readyz` goes from
 *   200 to 503 and stays there while `/healthz` still answers (alive, not ready), and the hook is
 *   told of the CLICKHOUSE_CRASHED error;
 * - as `run` (`startServiceProcess`): the process exits with code 1 within a bound, its log naming
 *   the component, so that a supervisor starts a fresh instance. (`run` stops at once, closing
 *   `/readyz` within milliseconds of the failure, so the 503 is checked in the first case.)
 * Each would fail if the proxy kept respawning, if the sink retried a given-up engine, if
 * readiness ignored the failure, or if `run` exited 0 or went on running.
 * And the other way round, within the budget: two deaths out of four allowed, the second while
 * the respawned engine opens its directory, leave the instance ready and every row written (an
 * early death used to fail the waiting insert as non-retriable, which the sink took for the give-up).
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../config/options.ts';
import { ArtenicError } from '../../common/errors.ts';
import { createLogger } from '../../common/logger.ts';
import { queryRows } from '../../infra/clickhouse/client.ts';
import { startService, type RunningServiceHandle } from '../../app/service.ts';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { startServiceProcess, type ServiceProcess } from '../helpers/serviceProcess.ts';
import { randomName, testConfig, waitUntil } from '../helpers/testConfig.ts';

/** Deaths the engine proxy tolerates before it gives the engine up: the (MAX_RESTARTS + 1)th kill is the last. */
const MAX_RESTARTS = 1;

/**
 * The engine host process of `dataDir` that is a live child of `owner`: chdb writes its PID into
 * `<dataDir>/status`; /proc confirms it is an engine host (a reaped or zombie one has no cmdline)
 * and whose child it is.
 */
function engineOf(dataDir: string, owner: number): number | null {
  try {
    const pid = Number(/^PID:\s*(\d+)/m.exec(readFileSync(join(dataDir, 'status'), 'utf8'))?.[1]);
    if (!Number.isInteger(pid) || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('engineHost')) return null;
    const ppid = Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return ppid === owner ? pid : null;
  } catch {
    return null;
  }
}

/** Kills the engine child of `owner` with SIGKILL until the proxy has seen MAX_RESTARTS + 1 deaths, waiting for each respawn; returns the PIDs killed. */
async function killEngineUntilGivenUp(dataDir: string, owner: number): Promise<number[]> {
  const killed: number[] = [];
  for (let i = 0; i <= MAX_RESTARTS; i++) {
    let pid: number | null = null;
    await waitUntil(`engine process #${i + 1} running`, async () => {
      pid = engineOf(dataDir, owner);
      return pid !== null && !killed.includes(pid);
    });
    process.kill(pid as unknown as number, 'SIGKILL');
    killed.push(pid as unknown as number);
  }
  return killed;
}

const readyz = async (url: string) => (await fetch(`${url}/readyz`)).status;

/** A config of its own whose engine is given up after MAX_RESTARTS + 1 deaths within a minute. */
function engineLimitedConfig(): Config {
  const base = testConfig();
  return { ...base, clickhouse: { ...base.clickhouse, engineMaxRestarts: MAX_RESTARTS, engineRestartWindowMs: 60_000 } };
}

/** Publishes `n` dispatches (the sink writes them to job_dispatch). */
async function publishDispatches(config: Config, serde: TopicSerde, g: EventGenerator, n: number, at: number): Promise<void> {
  const publisher = await Publisher.connect(createKafka(config, createLogger('warn'), '-publisher'), serde, config.topics);
  try {
    for (let i = 0; i < n; i++) {
      const j = g.job(at + i * 1_000);
      await publisher.add('job-dispatch', j.dispatch.job_id, j.dispatch);
    }
    await publisher.flush();
  } finally {
    await publisher.close();
  }
}

describe('a sink whose engine keeps dying', () => {
  const start = Date.UTC(2026, 9, 1);

  describe('in process', () => {
    const config = engineLimitedConfig();
    let service: RunningServiceHandle | undefined;
    afterAll(() => service?.stop());

    it('makes /readyz answer 503 for good while /healthz still answers, and reports CLICKHOUSE_CRASHED to the fatal hook', async () => {
      const fatal: Error[] = [];
      service = await startService(config, createLogger('warn'), { onFatal: (err) => fatal.push(err) });
      const s = service;
      const g = new EventGenerator({ seed: 141, runId: 'engine-dies' });

      // Working: rows reach ClickHouse, the instance is ready.
      await publishDispatches(config, s.serde, g, 20, start);
      await waitUntil('the sink inserted the first rows', async () => (s.sink.counters.rowsInserted.job_dispatch ?? 0) >= 20);
      await waitUntil('/readyz 200', async () => (await readyz(s.httpUrl)) === 200);

      const killed = await killEngineUntilGivenUp(config.clickhouse.dataDir, process.pid);
      const lastKill = Date.now();
      expect(killed).toHaveLength(MAX_RESTARTS + 1);
      // The sink learns of the give-up from its next insert (or one in flight at the last kill,
      // such as rows of the outputs the dispatches led to): more rows make sure there is one.
      await publishDispatches(config, s.serde, g, 20, start + 60_000);
      await waitUntil('/readyz 503', async () => (await readyz(s.httpUrl)) === 503, 30_000);
      console.log(`in process: /readyz 503 ${Date.now() - lastKill} ms after the last kill`);
      // Given up: no engine comes back.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(engineOf(config.clickhouse.dataDir, process.pid)).toBeNull();
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 500));
        expect(await readyz(s.httpUrl)).toBe(503);
      }
      expect((await fetch(`${s.httpUrl}/healthz`)).status).toBe(200);
      // The body names what is not ready, and the metric says the same as the endpoint.
      expect(await (await fetch(`${s.httpUrl}/readyz`)).text()).toBe('not ready: clickhouse sink\n');
      expect(await (await fetch(`${s.httpUrl}/metrics`)).text()).toMatch(/^artenic_ready 0$/m);
      expect(s.sink.ready).toBe(false);
      expect(fatal).toHaveLength(1);
      expect(fatal[0]).toBeInstanceOf(ArtenicError);
      expect({ code: (fatal[0] as ArtenicError).code, retriable: (fatal[0] as ArtenicError).retriable }).toEqual({ code: 'CLICKHOUSE_CRASHED', retriable: false });
      expect(fatal[0]?.message).toMatch(/died 2 times within 60000 ms .*not restarting it/);
      // The rows that met the given-up engine were not written (left uncommitted, for the next instance).
      expect(s.sink.counters.rowsInserted.job_dispatch).toBe(20);
    });
  });

  describe('as `run`', () => {
    const config = engineLimitedConfig();
    const logFile = join(tmpdir(), `${randomName('engine-dies-service')}.log`);
    let service: ServiceProcess | undefined;
    afterAll(async () => {
      if (service && service.child.exitCode === null && service.child.signalCode === null) await service.kill('SIGKILL');
    });

    it('exits with code 1, naming the component, once the engine is given up', async () => {
      const env = { ARTENIC_CLICKHOUSE_ENGINE_MAX_RESTARTS: String(MAX_RESTARTS), ARTENIC_CLICKHOUSE_ENGINE_RESTART_WINDOW_MS: '60000' };
      service = await startServiceProcess(config, logFile, env);
      const svc = service;
      const pid = svc.child.pid as number;
      const serde = new TopicSerde(createRegistry({ url: config.registry.url as string, username: null, password: null }), config.topics);
      await serde.registerAll();
      const g = new EventGenerator({ seed: 142, runId: 'engine-dies-run' });
      const inserted = async () => {
        const text = await (await fetch(`${svc.httpUrl}/metrics`)).text();
        return Number(/^artenic_clickhouse_rows_inserted_total\{table="job_dispatch"\} (\d+)/m.exec(text)?.[1] ?? 0);
      };

      await publishDispatches(config, serde, g, 20, start);
      await waitUntil('the sink inserted the first rows', async () => (await inserted()) >= 20);
      await waitUntil('/readyz 200', async () => (await readyz(svc.httpUrl)) === 200);

      await killEngineUntilGivenUp(config.clickhouse.dataDir, pid);
      const lastKill = Date.now();
      // As above: rows to insert, in case none was in flight at the last kill (the service may
      // have exited already; the broker takes them all the same).
      await publishDispatches(config, serde, g, 20, start + 60_000);
      const code = await Promise.race([svc.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 60_000))]);
      console.log(`as run: exited with ${code} ${Date.now() - lastKill} ms after the last kill`);
      expect(code).toBe(1);
      const log = readFileSync(logFile, 'utf8');
      expect(log).toMatch(/"component":"clickhouse sink"[^\n]*a vital component stopped for good/);
      expect(log).toContain('not restarting it');
    });
  });

  describe('within its budget', () => {
    const base = testConfig();
    const config: Config = { ...base, clickhouse: { ...base.clickhouse, engineMaxRestarts: 3, engineRestartWindowMs: 60_000 } };
    let service: RunningServiceHandle | undefined;
    afterAll(() => service?.stop());

    it('two deaths out of four allowed, the second while the respawn starts, leave the instance ready and every row written', async () => {
      const fatal: Error[] = [];
      service = await startService(config, createLogger('warn'), { onFatal: (err) => fatal.push(err) });
      const s = service;
      const g = new EventGenerator({ seed: 143, runId: 'engine-respawn' });
      await publishDispatches(config, s.serde, g, 20, start);
      await waitUntil('the sink inserted the first rows', async () => (s.sink.counters.rowsInserted.job_dispatch ?? 0) >= 20);

      // Dispatches keep coming, so that inserts wait for the respawned engine.
      const publisher = await Publisher.connect(createKafka(config, createLogger('warn'), '-publisher-2'), s.serde, config.topics);
      let sent = 20;
      let publishing = true;
      const traffic = (async () => {
        while (publishing) {
          for (let i = 0; i < 5; i++, sent++) {
            const j = g.job(start + sent * 1_000);
            await publisher.add('job-dispatch', j.dispatch.job_id, j.dispatch);
          }
          await publisher.flush();
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      await new Promise((r) => setTimeout(r, 1_000));
      const first = engineOf(config.clickhouse.dataDir, process.pid);
      expect(first).not.toBeNull();
      process.kill(first as number, 'SIGKILL');
      // The respawn, killed as soon as chdb names it in the status file (while it opens the directory).
      let second: number | null = null;
      const deadline = Date.now() + 30_000;
      while ((second === null || second === first) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
        second = engineOf(config.clickhouse.dataDir, process.pid);
      }
      expect(second).not.toBeNull();
      process.kill(second as number, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 2_000));
      publishing = false;
      await traffic;
      await publisher.close();

      const written = async () => Number((await queryRows<{ n: string }>(s.clickhouse, `SELECT count() AS n FROM ${config.clickhouse.database}.job_dispatch FINAL`))[0]?.n);
      await waitUntil('every dispatch written', async () => (await written()) === sent, 60_000);
      console.log(`within budget: ${sent} dispatches written after 2 kills; ${s.sink.counters.insertFailures} inserts retried`);
      expect(fatal.map((e) => e.message)).toEqual([]);
      expect(s.sink.failed).toBeNull();
      expect(await readyz(s.httpUrl)).toBe(200);
      // One engine again, a child of this process.
      expect(engineOf(config.clickhouse.dataDir, process.pid)).not.toBeNull();
    });
  });
});
