/**
 * The workload of `cost compare` and `recommend`: from `--workload <json>` or from flags,
 * checked field by field against `schemas/common/WorkloadProfile.avsc` (its types, and the
 * `min` / `max` it declares), so that an error names the field and the rule it breaks.
 */
import { Option, type Command } from 'commander';
import avro from 'avsc';
import { UsageError } from '../common/errors.ts';
import { loadCommonTypes, type AvroJson } from '../schemas/catalog.ts';
import type { WorkloadProfile } from '../schemas/generated/records.ts';
import { integerOption, numberOption } from './common.ts';

type Field = { name: string; type: AvroJson; default?: AvroJson; min?: number; max?: number };

const SCHEMA = loadCommonTypes().get('artenic.WorkloadProfile') as { fields: Field[] };
const FIELDS = SCHEMA.fields;

/** The flag that sets each field, for messages about flags. */
const FLAG_OF: Record<string, string> = {
  framework: '--framework',
  model_family: '--model-family',
  param_count: '--params',
  dataset_size_gb: '--dataset-gb',
  gpu_memory_required_gb: '--gpu-memory-gb',
  num_gpus: '--gpus',
  expected_duration_h: '--hours',
  distributed: '--distributed',
  gpu_memory_sharded: '--sharded',
  max_nodes: '--max-nodes',
};

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

/** The workload flags `cost compare` and `recommend` share; numbers are checked as they are parsed. */
export function workloadOptions(command: Command): Command {
  return command
    .option('--workload <json>', 'a WorkloadProfile as JSON (schemas/common/WorkloadProfile.avsc); instead of the flags below')
    .option('--framework <name>', `model framework: ${frameworks().join(', ')}`, 'PYTORCH')
    .option('--model-family <name>', 'model family', 'transformer')
    .addOption(new Option('--params <n>', 'parameter count').default(100000000).argParser(integerOption({ min: 0 })))
    .addOption(new Option('--dataset-gb <n>', 'dataset size in GB').default(10).argParser(numberOption({ min: 0 })))
    .addOption(new Option('--gpu-memory-gb <n>', 'GPU memory the job needs on each GPU (the total with --sharded)').default(16).argParser(numberOption({ min: 0 })))
    .addOption(new Option('--gpus <n>', 'GPUs the job uses').default(1).argParser(integerOption({ min: 0, max: 1024 })))
    .option('--distributed', 'the GPUs work as one distributed job (default: when --gpus > 1)')
    .option('--no-distributed', 'not distributed: one machine')
    .option('--sharded', 'the GPU memory is sharded over the GPUs (FSDP, ZeRO-3): --gpu-memory-gb is the total')
    .addOption(new Option('--max-nodes <n>', 'machines a distributed job may span').default(1).argParser(integerOption({ min: 1, max: 1024 })))
    .addOption(new Option('--hours <n>', "the job's work: hours on one A100").default(4).argParser(numberOption({ above: 0 })));
}

function frameworks(): string[] {
  const type = FIELDS.find((f) => f.name === 'framework')?.type as { symbols: string[] };
  return type.symbols;
}

/** What a field's type accepts, in words. */
function describe(type: AvroJson): string {
  if (Array.isArray(type)) return type.map(describe).join(' or ');
  if (typeof type === 'object' && type !== null && !Array.isArray(type)) {
    if (type.type === 'enum') return `one of ${(type.symbols as string[]).join(', ')}`;
    return describe(type.type as AvroJson);
  }
  switch (type) {
    case 'null':
      return 'null';
    case 'int':
    case 'long':
      return 'a whole number';
    case 'float':
    case 'double':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'string':
      return 'a string';
    default:
      return String(type);
  }
}

function bounds(f: Field): string {
  return [f.min !== undefined ? `>= ${f.min}` : null, f.max !== undefined ? `<= ${f.max}` : null].filter(Boolean).join(' and ');
}

/**
 * Every problem of a workload value, each naming its field and the rule: unknown fields,
 * missing required fields, wrong types, values out of the declared range.
 */
export function workloadProblems(value: unknown, nameOf: (field: string) => string = (f) => f): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return ['a workload is a JSON object'];
  const record = value as Record<string, unknown>;
  const problems: string[] = [];
  const known = new Set(FIELDS.map((f) => f.name));
  for (const key of Object.keys(record)) if (!known.has(key)) problems.push(`${key}: unknown field (fields: ${[...known].join(', ')})`);
  for (const f of FIELDS) {
    const name = nameOf(f.name);
    const rule = [describe(f.type), bounds(f)].filter(Boolean).join(' ');
    if (!(f.name in record)) {
      if (f.default === undefined) problems.push(`${name}: required, ${rule}`);
      continue;
    }
    const v = record[f.name];
    if (!avro.Type.forSchema(f.type as avro.Schema).isValid(v)) {
      problems.push(`${name}: must be ${rule}, got ${JSON.stringify(v)}`);
      continue;
    }
    if (typeof v === 'number' && ((f.min !== undefined && v < f.min) || (f.max !== undefined && v > f.max) || !Number.isFinite(v))) {
      problems.push(`${name}: must be ${bounds(f) || 'finite'}, got ${v}`);
    }
  }
  return problems;
}

/** The workload of a command: its `--workload` JSON, or its flags. Throws a UsageError naming every bad field. */
export function workloadFrom(opts: WorkloadFlags): WorkloadProfile {
  if (opts.workload !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(opts.workload);
    } catch (err) {
      throw new UsageError(`--workload is not JSON: ${(err as Error).message}`);
    }
    const problems = workloadProblems(parsed);
    if (problems.length > 0) throw new UsageError(`--workload: ${problems.join('; ')}`);
    // Fields the schema added with defaults may be left out, as in a record written with an older schema.
    const withDefaults: Record<string, unknown> = {};
    for (const f of FIELDS) withDefaults[f.name] = f.name in (parsed as object) ? (parsed as Record<string, unknown>)[f.name] : f.default;
    return withDefaults as unknown as WorkloadProfile;
  }
  const workload = {
    framework: opts.framework.toUpperCase(),
    model_family: opts.modelFamily,
    param_count: opts.params,
    dataset_size_gb: opts.datasetGb,
    gpu_memory_required_gb: opts.gpuMemoryGb,
    num_gpus: opts.gpus,
    expected_duration_h: opts.hours,
    distributed: opts.distributed ?? opts.gpus > 1,
    gpu_memory_sharded: opts.sharded ?? false,
    max_nodes: opts.maxNodes,
  };
  const problems = workloadProblems(workload, (f) => FLAG_OF[f] ?? f);
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  return workload as WorkloadProfile;
}
