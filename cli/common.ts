/**
 * What the commands share: the configuration, the local stack, ClickHouse (through the running
 * service when one answers), output, option parsers, shutdown helpers and the exit codes.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { loadConfig, type Config } from '../config/options.ts';
import { createClickHouse, isEmbedded, type ClickHouseClient } from '../infra/clickhouse/client.ts';
import { startLocalStack } from '../infra/local/localStack.ts';
import { ConfigError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { formatTable } from './table.ts';

/** Exit codes: 0 ok; 1 the command ran and failed (nothing answers, nothing feasible, a query error); 2 bad usage or configuration. */
export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** A command that ran and could not do what was asked: its one-line message, exit 1. */
export class CommandFailure extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'CommandFailure';
  }
}

/** The configuration for the program's global options (`--config`). */
export function configOf(program: Command): Config {
  const opts = program.opts<{ config?: string }>();
  return loadConfig({ file: opts.config ?? null });
}

/** True when the command line asks for JSON output (`--json` anywhere): errors are JSON too. */
export function wantsJson(argv: readonly string[]): boolean {
  return argv.includes('--json');
}

/** Starts the local Kafka and registry when none is configured; returns the completed config. */
export async function withLocalStack(config: Config, logger: Logger): Promise<{ config: Config; stop: () => Promise<void> }> {
  if (config.kafka.brokers.length > 0 && config.registry.url) return { config, stop: async () => undefined };
  if (config.kafka.brokers.length > 0 || config.registry.url) {
    throw new ConfigError('configure both kafka.brokers and registry.url, or neither (to start the local stack)');
  }
  logger.info('no broker or registry configured: starting local Kafka and Apicurio Registry');
  const stack = await startLocalStack();
  return {
    config: { ...config, kafka: { ...config.kafka, brokers: stack.brokers }, registry: { ...config.registry, url: stack.registryUrl } },
    stop: stack.stop,
  };
}

/** The SQL endpoint of a service running on this configuration, if one answers its `/ping`. */
export async function runningSqlEndpoint(config: Config): Promise<string | null> {
  if (!config.sql.enabled || config.sql.port === 0 || !isEmbedded(config.clickhouse)) return null;
  const url = `http://${config.sql.host}:${config.sql.port}`;
  try {
    const response = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) });
    return response.ok && (await response.text()).startsWith('Ok.') ? url : null;
  } catch {
    return null;
  }
}

export interface ClickHouseAccess {
  client: ClickHouseClient;
  database: string;
}

/**
 * ClickHouse for a command: the configured server; else the running service's SQL endpoint
 * when one answers (the service holds the embedded engine, and serves it read-only); else the
 * embedded engine opened here. Read-only unless `write`, always enforced by the engine.
 */
export async function openClickHouse(config: Config, options: { write?: boolean } = {}): Promise<ClickHouseAccess> {
  const database = config.clickhouse.database;
  if (!isEmbedded(config.clickhouse)) return { client: createClickHouse(config.clickhouse, { readOnly: !options.write }), database };
  const endpoint = await runningSqlEndpoint(config);
  if (endpoint) {
    if (options.write) {
      throw new CommandFailure(`the service running at ${endpoint} holds the embedded ClickHouse and serves it read-only: stop it to write, or use a ClickHouse server (ARTENIC_CLICKHOUSE_URL)`);
    }
    const client = createClient({ url: endpoint, username: config.sql.username ?? 'default', password: config.sql.password ?? '', database, request_timeout: 60_000, log: { level: ClickHouseLogLevel.OFF } });
    return { client, database };
  }
  return { client: createClickHouse(config.clickhouse, { readOnly: !options.write }), database };
}

/** Opens ClickHouse for `fn` (read-only) and closes it after. */
export async function withClickHouse(program: Command, fn: (client: ClickHouseClient, database: string) => Promise<void>): Promise<void> {
  const { client, database } = await openClickHouse(configOf(program));
  try {
    await fn(client, database);
  } finally {
    await client.close();
  }
}

export function printRows(rows: Array<Record<string, unknown>>, json?: boolean): void {
  console.log(json ? JSON.stringify(rows, null, 2) : formatTable(rows));
}

/** How long a graceful stop may take before the process exits without it. */
export const SHUTDOWN_TIMEOUT_MS = 60_000;

/**
 * Runs `fn` once on SIGINT/SIGTERM, then exits 0; the returned function does the same with
 * another exit code. A stop that does not finish within `timeoutMs` exits 1 without it: a
 * supervisor's next SIGKILL would do the same later, and nothing is lost either way (the
 * broker aborts what did not commit; its input is read again from the committed offsets).
 */
export function onShutdown(fn: () => Promise<void>, timeoutMs = SHUTDOWN_TIMEOUT_MS): (exitCode: number) => void {
  let stopping = false;
  const stop = (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      console.error(`error: the graceful stop did not finish within ${timeoutMs / 1000} s; exiting without it (what did not commit is aborted and read again by the next instance)`);
      process.exit(EXIT_RUNTIME);
    }, timeoutMs).unref();
    fn().then(
      () => process.exit(exitCode),
      (err) => {
        console.error(err);
        process.exit(EXIT_RUNTIME);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop(0));
  return stop;
}

/**
 * Parsers for numeric option values: commander reports a thrown InvalidArgumentError as
 * "option '--gpus <n>' argument 'abc' is invalid. <rule>", naming the option, and the CLI exits 2.
 */
export function integerOption(rule: { min?: number; max?: number } = {}): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(n)) throw new InvalidArgumentError(`expected a whole number${describeRange(rule)}`);
    checkRange(n, rule);
    return n;
  };
}

export function numberOption(rule: { min?: number; above?: number; max?: number } = {}): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number${describeRange(rule)}`);
    checkRange(n, rule);
    return n;
  };
}

function describeRange(rule: { min?: number; above?: number; max?: number }): string {
  const parts = [rule.above !== undefined ? `> ${rule.above}` : rule.min !== undefined ? `>= ${rule.min}` : null, rule.max !== undefined ? `<= ${rule.max}` : null].filter(Boolean);
  return parts.length ? ` ${parts.join(' and ')}` : '';
}

function checkRange(n: number, rule: { min?: number; above?: number; max?: number }): void {
  if ((rule.min !== undefined && n < rule.min) || (rule.above !== undefined && n <= rule.above) || (rule.max !== undefined && n > rule.max)) {
    throw new InvalidArgumentError(`must be${describeRange(rule)}`);
  }
}
