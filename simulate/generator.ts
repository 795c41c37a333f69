/**
 * The event generator: realistic platform traffic from a seed. Teams dispatch training
 * jobs of a few workload shapes to offers from the catalog; jobs run as the ground truth
 * says (truth.ts: per-GPU speed, the GPUs the job uses, its own scaling; out of memory when
 * it does not fit), succeed, fail or are preempted (spot, per-offer rates); datasets are
 * read and written. Pure: it produces records with event times on a clock it is given, and
 * knows nothing of Kafka.
 *
 * The platform that dispatches is naive in the ways the advisor must not be: it believes a
 * job fits when the machine's total GPU memory is enough, and that a job goes as fast as the
 * whole machine (every GPU, perfect scaling). Its estimates (estimated_duration_s and cost)
 * say so; its choices are mostly among the three cheapest offers by that belief, otherwise
 * whatever is at hand.
 */
import type { DatasetAccess, InstanceOffer, InstanceRef, JobDispatch, JobOutcome, WorkloadProfile } from '../schemas/generated/records.ts';
import { CATALOG, type CatalogOffer } from './catalog.ts';
import { Random } from './random.ts';
import { trueRun, type HiddenTraits } from './truth.ts';

/** A workload shape of the simulated platform: its profile, its true traits, its work (hours on one A100) and metric. */
export interface SimWorkload extends WorkloadProfile, HiddenTraits {
  baseHours: number;
  baseline: number;
  goal: 'MAXIMIZE' | 'MINIMIZE';
}

const single = { num_gpus: 1, distributed: false, gpu_memory_sharded: false, max_nodes: 1, expected_duration_h: null } as const;

/** The platform's workloads. Parallel fraction and saturation are hidden truths, not what the advisor's priors say. */
export const PLATFORM_WORKLOADS: SimWorkload[] = [
  { ...single, framework: 'PYTORCH', model_family: 'resnet', param_count: 25_000_000, dataset_size_gb: 150, gpu_memory_required_gb: 12, baseHours: 6, baseline: 0.76, goal: 'MAXIMIZE', parallelFraction: 0.93, saturation: 0.75 },
  { ...single, framework: 'HUGGINGFACE', model_family: 'bert', param_count: 340_000_000, dataset_size_gb: 20, gpu_memory_required_gb: 16, baseHours: 4, baseline: 0.88, goal: 'MAXIMIZE', parallelFraction: 0.96, saturation: 0.9 },
  { ...single, framework: 'HUGGINGFACE', model_family: 'llama-lora', param_count: 7_000_000_000, dataset_size_gb: 5, gpu_memory_required_gb: 36, baseHours: 10, baseline: 1.9, goal: 'MINIMIZE', parallelFraction: 0.97, saturation: 1 },
  { ...single, framework: 'JAX', model_family: 'vit', param_count: 86_000_000, dataset_size_gb: 140, gpu_memory_required_gb: 20, baseHours: 8, baseline: 0.81, goal: 'MAXIMIZE', parallelFraction: 0.95, saturation: 0.85 },
  { ...single, framework: 'TENSORFLOW', model_family: 'efficientnet', param_count: 12_000_000, dataset_size_gb: 60, gpu_memory_required_gb: 10, baseHours: 3, baseline: 0.79, goal: 'MAXIMIZE', parallelFraction: 0.9, saturation: 0.7 },
  { ...single, framework: 'XGBOOST', model_family: 'gbdt', param_count: 1_000_000, dataset_size_gb: 8, gpu_memory_required_gb: 8, baseHours: 0.5, baseline: 0.71, goal: 'MAXIMIZE', parallelFraction: 0.6, saturation: 0.5 },
  { ...single, framework: 'HUGGINGFACE', model_family: 'bert-large', param_count: 340_000_000, dataset_size_gb: 40, gpu_memory_required_gb: 20, num_gpus: 2, distributed: true, baseHours: 12, baseline: 0.9, goal: 'MAXIMIZE', parallelFraction: 0.95, saturation: 0.9 },
  { ...single, framework: 'PYTORCH', model_family: 'gpt-pretrain', param_count: 1_300_000_000, dataset_size_gb: 800, gpu_memory_required_gb: 30, num_gpus: 8, distributed: true, baseHours: 40, baseline: 3.1, goal: 'MINIMIZE', parallelFraction: 0.985, saturation: 1 },
  { ...single, framework: 'HUGGINGFACE', model_family: 'llama-13b-fsdp', param_count: 13_000_000_000, dataset_size_gb: 30, gpu_memory_required_gb: 240, num_gpus: 8, distributed: true, gpu_memory_sharded: true, baseHours: 64, baseline: 1.7, goal: 'MINIMIZE', parallelFraction: 0.975, saturation: 1 },
];

/** The profile a dispatch carries: no hidden traits, the work as its expected duration. */
export function profileOf(w: SimWorkload): WorkloadProfile {
  return {
    framework: w.framework,
    model_family: w.model_family,
    param_count: w.param_count,
    dataset_size_gb: w.dataset_size_gb,
    gpu_memory_required_gb: w.gpu_memory_required_gb,
    num_gpus: w.num_gpus,
    expected_duration_h: w.baseHours,
    distributed: w.distributed,
    gpu_memory_sharded: w.gpu_memory_sharded,
    max_nodes: w.max_nodes,
  };
}

/** Whether the naive platform believes the job fits: total GPU memory and GPU count over the machines it may use. */
export function platformBelievesFits(w: WorkloadProfile, o: CatalogOffer): boolean {
  const machines = w.distributed ? Math.max(1, w.max_nodes) : 1;
  const n = Math.max(1, w.num_gpus);
  const nodes = Math.min(machines, Math.ceil(n / o.gpuCount));
  return o.gpuCount * nodes >= n && o.gpuMemoryGb * o.gpuCount * nodes >= w.gpu_memory_required_gb;
}

/** Machines the platform takes for the job on an offer. */
export function platformNodes(w: WorkloadProfile, o: CatalogOffer): number {
  return w.distributed ? Math.max(1, Math.min(Math.max(1, w.max_nodes), Math.ceil(Math.max(1, w.num_gpus) / o.gpuCount))) : 1;
}

/** The naive platform's hours: every GPU of the allocation, perfect scaling. */
export function platformHours(work: number, o: CatalogOffer, nodes: number): number {
  return work / (o.gpuSpeed * o.gpuCount * nodes);
}

/** The naive platform's choice: 60% among the three cheapest by its own estimate, else any offer it believes fits. */
export function platformChoice(rng: Random, w: WorkloadProfile, work: number, catalog: readonly CatalogOffer[] = CATALOG): { offer: CatalogOffer; candidates: CatalogOffer[] } {
  const believed = catalog.filter((o) => platformBelievesFits(w, o));
  const candidates = believed.length > 0 ? believed : [...catalog];
  const naiveCost = (o: CatalogOffer) => platformHours(work, o, platformNodes(w, o)) * o.onDemand * platformNodes(w, o);
  const sorted = [...candidates].sort((a, b) => naiveCost(a) - naiveCost(b));
  const offer = rng.chance(0.6) ? (sorted[Math.min(sorted.length - 1, Math.floor(rng.next() * 3))] as CatalogOffer) : rng.pick(candidates);
  return { offer, candidates };
}

const TEAMS = ['vision', 'nlp', 'recsys', 'research'];
const DATASET_FORMATS = ['CSV', 'JSON', 'PARQUET', 'JSONL', 'TFRECORD', 'IMAGES'] as const;

export function offerKey(o: { provider: string; region: string; instanceType?: string; instance_type?: string }): string {
  return `${o.provider}/${o.region}/${o.instanceType ?? o.instance_type}`;
}

export function toInstanceOffer(o: CatalogOffer, eventTime: number): InstanceOffer {
  return {
    event_id: `offer:${offerKey(o)}:${eventTime}`,
    event_time: eventTime,
    provider: o.provider,
    region: o.region,
    instance_type: o.instanceType,
    gpu_type: o.gpuType,
    gpu_count: o.gpuCount,
    gpu_memory_gb: o.gpuMemoryGb,
    vcpus: o.vcpus,
    memory_gb: o.memoryGb,
    on_demand_price_usd: o.onDemand,
    spot_price_usd: o.spot,
    available: true,
  };
}

export interface GeneratedJob {
  dispatch: JobDispatch;
  outcome: JobOutcome;
}

export interface GeneratorOptions {
  seed: number;
  /** Prefix of job ids, so that runs do not collide. */
  runId: string;
}

export class EventGenerator {
  readonly rng: Random;
  private jobCounter = 0;
  private accessCounter = 0;
  private readonly datasets: Array<{ id: string; format: (typeof DATASET_FORMATS)[number]; sizeBytes: number; files: number; version: number; popularity: number }>;

  constructor(private readonly options: GeneratorOptions) {
    this.rng = new Random(options.seed);
    this.datasets = Array.from({ length: 24 }, (_, i) => ({
      id: `ds-${i.toString().padStart(3, '0')}`,
      format: this.rng.pick(DATASET_FORMATS),
      sizeBytes: Math.round(10 ** this.rng.between(5.5, 11.5)),
      files: this.rng.int(1, 5000),
      version: 1,
      // A few datasets are read constantly, most rarely, some never.
      popularity: i < 4 ? 1 : i < 12 ? 0.1 : i < 18 ? 0.01 : 0,
    }));
  }

  /** One job: its dispatch at `at`, and its outcome at `at` + its duration. */
  job(at: number): GeneratedJob {
    const rng = this.rng;
    // A shape at its own size: teams train bigger and smaller variants on more or less data, for longer or shorter.
    const shape = rng.pick(PLATFORM_WORKLOADS);
    const size = 2 ** rng.between(-1, 1);
    const data = 2 ** rng.between(-1.5, 1.5);
    const w: SimWorkload = { ...shape, param_count: Math.round(shape.param_count * size), dataset_size_gb: Math.round(shape.dataset_size_gb * data * 10) / 10, baseHours: Math.round(shape.baseHours * size ** 0.5 * data ** 0.5 * 100) / 100 };
    const { offer, candidates } = platformChoice(rng, w, w.baseHours);
    const spot = offer.spot !== null && rng.chance(0.5);
    const nodes = platformNodes(w, offer);
    const price = spot ? (offer.spot as number) : offer.onDemand;
    const jobId = `${this.options.runId}-job-${(this.jobCounter++).toString().padStart(7, '0')}`;
    const estimatedSeconds = platformHours(w.baseHours, offer, nodes) * 3600;
    const instance: InstanceRef = { provider: offer.provider, region: offer.region, instance_type: offer.instanceType, spot, hourly_price_usd: price };
    const checkpointing = rng.chance(0.6);
    const dispatch: JobDispatch = {
      event_id: `dispatch:${jobId}`,
      event_time: at,
      job_id: jobId,
      team: rng.pick(TEAMS),
      workload: profileOf(w),
      instance,
      candidates: candidates.slice(0, 8).map((c) => ({ provider: c.provider, region: c.region, instance_type: c.instanceType, spot: false, hourly_price_usd: c.onDemand })),
      estimated_cost_usd: round((price * nodes * estimatedSeconds) / 3600),
      estimated_duration_s: Math.round(estimatedSeconds),
      baseline_metric: w.baseline,
      metric_goal: w.goal,
      checkpointing,
      hyperparameters: { lr: String(round(10 ** rng.between(-5, -2), 6)), batch_size: String(2 ** rng.int(4, 9)) },
      hpo_study_id: null,
      hpo_trial_id: null,
    };
    const truth = trueRun(w, w, offer, w.baseHours);
    const preempted = spot && rng.chance(offer.preemptionRate);
    const preemptions = preempted && truth.fits ? rng.int(1, 3) : 0;
    const failed = rng.chance(0.04);
    // A preempted run without checkpoints restarts from scratch; with them it loses ~10%.
    const rerun = preemptions * (checkpointing ? 0.1 : rng.between(0.3, 0.9));
    const noise = Math.exp(rng.normal() * 0.15);
    // A job that does not fit dies in its first minutes; a random failure somewhere in the run.
    const duration = truth.fits ? truth.hours * 3600 * noise * (1 + rerun) * (failed ? rng.between(0.05, 0.6) : 1) : rng.between(180, 900);
    const finalPreempt = preempted && !checkpointing && rng.chance(0.3);
    const status: JobOutcome['status'] = !truth.fits || failed ? 'FAILED' : finalPreempt ? 'PREEMPTED' : rng.chance(0.01) ? 'CANCELLED' : 'SUCCEEDED';
    const metricNoise = rng.normal() * 0.02 * Math.abs(w.baseline);
    const metric = status === 'SUCCEEDED' ? round(w.baseline + (w.goal === 'MAXIMIZE' ? metricNoise : -metricNoise), 4) : null;
    const outcome: JobOutcome = {
      event_id: `outcome:${jobId}`,
      event_time: at + Math.round(duration * 1000),
      job_id: jobId,
      status,
      duration_s: Math.round(duration),
      cost_usd: round((price * nodes * duration) / 3600),
      metric,
      preemption_count: preemptions,
      error: status !== 'FAILED' ? null : (truth.error ?? rng.pick(['NCCL timeout', 'dataset not found', 'exit code 137'])),
    };
    return { dispatch, outcome };
  }

  /** A dataset access at `at`, or null when the picked dataset is never read. */
  datasetAccess(at: number): DatasetAccess | null {
    const rng = this.rng;
    const weights = this.datasets.map((d) => d.popularity);
    const total = weights.reduce((a, b) => a + b, 0);
    let r = rng.next() * total;
    const ds = this.datasets.find((_, i) => (r -= weights[i] as number) < 0) ?? this.datasets[0];
    if (!ds) return null;
    const write = rng.chance(0.05);
    if (write) {
      ds.version++;
      ds.sizeBytes = Math.round(ds.sizeBytes * rng.between(1.0, 1.15));
    }
    return {
      event_id: `access:${this.options.runId}:${this.accessCounter++}`,
      event_time: at,
      dataset_id: ds.id,
      version: ds.version,
      format: ds.format,
      tabular: ds.format !== 'IMAGES' && ds.format !== 'TFRECORD',
      size_bytes: ds.sizeBytes,
      file_count: ds.files,
      operation: write ? 'WRITE' : rng.chance(0.2) ? 'DOWNLOAD' : 'READ',
    };
  }
}

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
