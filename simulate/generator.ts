/**
 * The event generator: realistic platform traffic from a seed. Teams dispatch training
 * jobs of a few workload shapes to offers from the catalog; jobs succeed, fail or are
 * preempted (spot, per-offer rates); datasets are read and written. Pure: it produces
 * records with event times on a clock it is given, and knows nothing of Kafka.
 */
import type { DatasetAccess, InstanceOffer, InstanceRef, JobDispatch, JobOutcome, WorkloadProfile } from '../schemas/generated/records.ts';
import { CATALOG, type CatalogOffer } from './catalog.ts';
import { Random } from './random.ts';

const WORKLOADS: Array<WorkloadProfile & { baseHours: number; baseline: number; goal: 'MAXIMIZE' | 'MINIMIZE' }> = [
  { framework: 'PYTORCH', model_family: 'resnet', param_count: 25_000_000, dataset_size_gb: 150, gpu_memory_required_gb: 12, num_gpus: 1, expected_duration_h: null, distributed: false, baseHours: 6, baseline: 0.76, goal: 'MAXIMIZE' },
  { framework: 'HUGGINGFACE', model_family: 'bert', param_count: 340_000_000, dataset_size_gb: 20, gpu_memory_required_gb: 16, num_gpus: 1, expected_duration_h: null, distributed: false, baseHours: 4, baseline: 0.88, goal: 'MAXIMIZE' },
  { framework: 'HUGGINGFACE', model_family: 'llama-lora', param_count: 7_000_000_000, dataset_size_gb: 5, gpu_memory_required_gb: 36, num_gpus: 1, expected_duration_h: null, distributed: false, baseHours: 10, baseline: 1.9, goal: 'MINIMIZE' },
  { framework: 'JAX', model_family: 'vit', param_count: 86_000_000, dataset_size_gb: 140, gpu_memory_required_gb: 20, num_gpus: 1, expected_duration_h: null, distributed: false, baseHours: 8, baseline: 0.81, goal: 'MAXIMIZE' },
  { framework: 'TENSORFLOW', model_family: 'efficientnet', param_count: 12_000_000, dataset_size_gb: 60, gpu_memory_required_gb: 10, num_gpus: 1, expected_duration_h: null, distributed: false, baseHours: 3, baseline: 0.79, goal: 'MAXIMIZE' },
  { framework: 'XGBOOST', model_family: 'gbdt', param_count: 1_000_000, dataset_size_gb: 8, gpu_memory_required_gb: 8, num_gpus: 1, expected_duration_h: null, distributed: false, baseHours: 0.5, baseline: 0.71, goal: 'MAXIMIZE' },
  { framework: 'PYTORCH', model_family: 'gpt-pretrain', param_count: 1_300_000_000, dataset_size_gb: 800, gpu_memory_required_gb: 60, num_gpus: 8, expected_duration_h: null, distributed: true, baseHours: 40, baseline: 3.1, goal: 'MINIMIZE' },
];

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
    const w = rng.pick(WORKLOADS);
    const feasible = CATALOG.filter((o) => o.gpuMemoryGb * o.gpuCount >= w.gpu_memory_required_gb && o.gpuCount >= w.num_gpus);
    const candidates = feasible.length > 0 ? feasible : CATALOG;
    // Platforms mostly pick cheap offers, sometimes whatever is at hand.
    const sorted = [...candidates].sort((a, b) => a.onDemand / a.speed - b.onDemand / b.speed);
    const offer = rng.chance(0.6) ? (sorted[Math.min(sorted.length - 1, Math.floor(rng.next() * 3))] as CatalogOffer) : rng.pick(candidates);
    const spot = offer.spot !== null && rng.chance(0.5);
    const price = spot ? (offer.spot as number) : offer.onDemand;
    const jobId = `${this.options.runId}-job-${(this.jobCounter++).toString().padStart(7, '0')}`;
    const hours = (w.baseHours / offer.speed) * (w.num_gpus > 1 ? 1 : 1);
    const estimatedSeconds = hours * 3600;
    const instance: InstanceRef = { provider: offer.provider, region: offer.region, instance_type: offer.instanceType, spot, hourly_price_usd: price };
    const checkpointing = rng.chance(0.6);
    const dispatch: JobDispatch = {
      event_id: `dispatch:${jobId}`,
      event_time: at,
      job_id: jobId,
      team: rng.pick(TEAMS),
      workload: {
        framework: w.framework,
        model_family: w.model_family,
        param_count: w.param_count,
        dataset_size_gb: w.dataset_size_gb,
        gpu_memory_required_gb: w.gpu_memory_required_gb,
        num_gpus: w.num_gpus,
        expected_duration_h: w.baseHours,
        distributed: w.distributed,
      },
      instance,
      candidates: candidates.slice(0, 8).map((c) => ({ provider: c.provider, region: c.region, instance_type: c.instanceType, spot: false, hourly_price_usd: c.onDemand })),
      estimated_cost_usd: round(price * hours),
      estimated_duration_s: Math.round(estimatedSeconds),
      baseline_metric: w.baseline,
      metric_goal: w.goal,
      checkpointing,
      hyperparameters: { lr: String(round(10 ** rng.between(-5, -2), 6)), batch_size: String(2 ** rng.int(4, 9)) },
      hpo_study_id: null,
      hpo_trial_id: null,
    };
    const preempted = spot && rng.chance(offer.preemptionRate);
    const preemptions = preempted ? rng.int(1, 3) : 0;
    const failed = rng.chance(0.04);
    // A preempted run without checkpoints restarts from scratch; with them it loses ~10%.
    const rerun = preemptions * (checkpointing ? 0.1 : rng.between(0.3, 0.9));
    const noise = Math.exp(rng.normal() * 0.15);
    const duration = estimatedSeconds * noise * (1 + rerun) * (failed ? rng.between(0.05, 0.6) : 1);
    const finalPreempt = preempted && !checkpointing && rng.chance(0.3);
    const status: JobOutcome['status'] = failed ? 'FAILED' : finalPreempt ? 'PREEMPTED' : rng.chance(0.01) ? 'CANCELLED' : 'SUCCEEDED';
    const metricNoise = rng.normal() * 0.02 * Math.abs(w.baseline);
    const metric = status === 'SUCCEEDED' ? round(w.baseline + (w.goal === 'MAXIMIZE' ? metricNoise : -metricNoise), 4) : null;
    const outcome: JobOutcome = {
      event_id: `outcome:${jobId}`,
      event_time: at + Math.round(duration * 1000),
      job_id: jobId,
      status,
      duration_s: Math.round(duration),
      cost_usd: round((price * duration) / 3600),
      metric,
      preemption_count: preemptions,
      error: status === 'FAILED' ? rng.pick(['CUDA out of memory', 'NCCL timeout', 'dataset not found', 'exit code 137']) : null,
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
