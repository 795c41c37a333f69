/**
 * What the commands share: the configuration, the local stack, ClickHouse, output and
 * shutdown helpers, the exit codes and the workload flags of `cost compare` and `recommend`.
 */
import { Option, type Command } from 'commander';
import avro from 'avsc';
import { loadConfig, type Config } from '../config/options.ts';
import { createClickHouse } from '../infra/clickhouse/client.ts';
import { startLocalStack } from '../infra/local/localStack.ts';
import { ConfigError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { loadCommonTypes } from '../schemas/catalog.ts';
import type { WorkloadProfile } from '../schemas/generated/records.ts';
import { formatTable } from './table.ts';

const WORKLOAD_TYPE = avro.Type.forSchema(loadCommonTypes().get('artenic.WorkloadProfile') as avro.Schema);

export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** The configuration for the program's global options (`--config`). */
export function configOf(program: Command): Config {
  const opts = program.opts<{ config?: string }>();
  return loadConfig({ file: opts.config ?? null });
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

/** Opens the configured ClickHouse for `fn` and closes it after. */
export async function withClickHouse(program: Command, fn: (client: ReturnType<typeof createClickHouse>, database: string) => Promise<void>): Promise<void> {
  const config = configOf(program);
  const client = createClickHouse(config.clickhouse);
  try {
    await fn(client, config.clickhouse.database);
  } finally {
    await client.close();
  }
}

export function printRows(rows: Array<Record<string, unknown>>, json?: boolean): void {
  console.log(json ? JSON.stringify(rows, null, 2) : formatTable(rows));
}

/** Runs `fn` once on SIGINT/SIGTERM, then exits 0; the returned function does the same with another exit code. */
export function onShutdown(fn: () => Promise<void>): (exitCode: number) => void {
  let stopping = false;
  const stop = (exitCode: number) => {
    if (stopping) return;
    stopping = true;
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

export interface WorkloadFlags {
  workload?: string;
  framework: string;
  modelFamily: string;
  params: number;
  datasetGb: number;
  gpuMemoryGb: number;
  gpus: number;
  hours: number;
  distributed?: boolean;
  sharded?: boolean;
  maxNodes: number;
}

/** The workload flags `cost compare` and `recommend` share. */
export function workloadOptions(command: Command): Command {
  return command
    .option('--workload <json>', 'a WorkloadProfile as JSON (schemas/common/WorkloadProfile.avsc)')
    .option('--framework <name>', 'model framework', 'PYTORCH')
    .option('--model-family <name>', 'model family', 'transformer')
    .addOption(new Option('--params <n>', 'parameter count').default(100000000).argParser(Number))
    .addOption(new Option('--dataset-gb <n>', 'dataset size in GB').default(10).argParser(Number))
    .addOption(new Option('--gpu-memory-gb <n>', 'GPU memory the job needs on each GPU (the total with --sharded)').default(16).argParser(Number))
    .addOption(new Option('--gpus <n>', 'GPUs the job uses').default(1).argParser(Number))
    .option('--distributed', 'the GPUs work as one distributed job (default: when --gpus > 1)')
    .option('--no-distributed', 'not distributed: one machine')
    .option('--sharded', 'the GPU memory is sharded over the GPUs (FSDP, ZeRO-3): --gpu-memory-gb is the total')
    .addOption(new Option('--max-nodes <n>', 'machines a distributed job may span').default(1).argParser(Number))
    .addOption(new Option('--hours <n>', "the job's work: hours on one A100").default(4).argParser(Number));
}

export function workloadFrom(opts: WorkloadFlags): WorkloadProfile {
  let raw: unknown;
  try {
    raw = opts.workload
      ? JSON.parse(opts.workload)
      : { framework: opts.framework.toUpperCase(), model_family: opts.modelFamily, param_count: opts.params, dataset_size_gb: opts.datasetGb, gpu_memory_required_gb: opts.gpuMemoryGb, num_gpus: opts.gpus, expected_duration_h: opts.hours, distributed: opts.distributed ?? opts.gpus > 1, gpu_memory_sharded: opts.sharded ?? false, max_nodes: opts.maxNodes };
  } catch (err) {
    throw new ConfigError(`--workload is not JSON: ${(err as Error).message}`);
  }
  // Fields added to the schema since (with defaults) may be left out, as in a record written with an older schema.
  let workload: WorkloadProfile;
  try {
    workload = WORKLOAD_TYPE.clone(raw) as WorkloadProfile;
  } catch {
    throw new ConfigError('the workload does not match schemas/common/WorkloadProfile.avsc');
  }
  if (!WORKLOAD_TYPE.isValid(workload)) throw new ConfigError('the workload does not match schemas/common/WorkloadProfile.avsc');
  return workload;
}
