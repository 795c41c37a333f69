/**
 * A held-out simulated platform for judging decisions (bench/advisor-regret.ts): workloads
 * the training platform (generator.ts) never ran, in mixes that differ in kind, and a second
 * catalog with other prices and machine shapes the first one does not have (a GPU type the
 * advisor has no speed for among them). Every job carries hidden traits (its own scaling,
 * how much of a fast GPU it can use) that only the truth (truth.ts) knows.
 */
import type { ModelFramework, WorkloadProfile } from '../schemas/generated/records.ts';
import { CATALOG, type CatalogOffer } from './catalog.ts';
import { Random } from './random.ts';
import type { SimWorkload } from './generator.ts';

export type MixName = 'small-single-gpu' | 'large-memory-single-gpu' | 'distributed' | 'multi-node' | 'mixed, other catalog';
export const MIXES: readonly MixName[] = ['small-single-gpu', 'large-memory-single-gpu', 'distributed', 'multi-node', 'mixed, other catalog'];

const SMALL: Array<[ModelFramework, string]> = [
  ['PYTORCH', 'unet'],
  ['PYTORCH', 'yolo'],
  ['HUGGINGFACE', 'deberta'],
  ['HUGGINGFACE', 'whisper-small'],
  ['TENSORFLOW', 'mobilenet'],
  ['JAX', 'mlp-mixer'],
  ['LIGHTGBM', 'gbdt-gpu'],
  ['SKLEARN', 'svm'],
  ['OTHER', 'graph-nn'],
];
const LARGE: Array<[ModelFramework, string]> = [
  ['HUGGINGFACE', 'mistral-qlora'],
  ['HUGGINGFACE', 'llama-70b-qlora'],
  ['PYTORCH', 'sdxl-finetune'],
  ['JAX', 't5-xl'],
];
const DISTRIBUTED: Array<[ModelFramework, string]> = [
  ['PYTORCH', 'gpt-pretrain'],
  ['PYTORCH', 'vit-huge'],
  ['HUGGINGFACE', 'llama-8b-full'],
  ['JAX', 'palm-small'],
  ['TENSORFLOW', 'bert-pretrain'],
];

const round1 = (x: number) => Math.round(x * 10) / 10;

function hidden(rng: Random, framework: ModelFramework): { parallelFraction: number; saturation: number } {
  const tree = framework === 'LIGHTGBM' || framework === 'XGBOOST' || framework === 'SKLEARN';
  return { parallelFraction: tree ? rng.between(0, 0.7) : rng.between(0.8, 0.995), saturation: tree ? rng.between(0.3, 0.7) : rng.between(0.5, 1) };
}

function workloadOf(framework: ModelFramework, family: string, fields: Partial<WorkloadProfile>): WorkloadProfile {
  return {
    framework,
    model_family: family,
    param_count: 1e8,
    dataset_size_gb: 50,
    gpu_memory_required_gb: 16,
    num_gpus: 1,
    expected_duration_h: 4,
    distributed: false,
    gpu_memory_sharded: false,
    max_nodes: 1,
    ...fields,
  };
}

/** One held-out job of a mix: its profile, hidden traits and work (hours on one A100). */
export function heldOutWorkload(mix: MixName, rng: Random): SimWorkload {
  const kind = mix === 'mixed, other catalog' ? rng.pick(['small-single-gpu', 'large-memory-single-gpu', 'distributed', 'multi-node'] as const) : mix;
  let w: WorkloadProfile;
  if (kind === 'small-single-gpu') {
    const [framework, family] = rng.pick(SMALL);
    w = workloadOf(framework, family, { param_count: Math.round(10 ** rng.between(6, 9)), dataset_size_gb: round1(10 ** rng.between(0, 2.5)), gpu_memory_required_gb: round1(rng.between(3, 22)), expected_duration_h: round1(rng.between(0.5, 12)) });
  } else if (kind === 'large-memory-single-gpu') {
    const [framework, family] = rng.pick(LARGE);
    w = workloadOf(framework, family, { param_count: Math.round(10 ** rng.between(9, 10.8)), dataset_size_gb: round1(rng.between(1, 50)), gpu_memory_required_gb: round1(rng.between(30, 78)), expected_duration_h: round1(rng.between(2, 30)) });
  } else if (kind === 'distributed') {
    const [framework, family] = rng.pick(DISTRIBUTED);
    const gpus = rng.pick([2, 4, 8]);
    const sharded = rng.chance(0.4);
    const perGpu = rng.between(10, 38);
    w = workloadOf(framework, family, { param_count: Math.round(10 ** rng.between(8.5, 10.5)), dataset_size_gb: round1(rng.between(50, 2000)), num_gpus: gpus, distributed: true, gpu_memory_sharded: sharded, gpu_memory_required_gb: round1(sharded ? perGpu * gpus : perGpu), expected_duration_h: round1(rng.between(10, 300)) });
  } else {
    const [framework, family] = rng.pick(DISTRIBUTED);
    const gpus = rng.pick([12, 16]);
    w = workloadOf(framework, family, { param_count: Math.round(10 ** rng.between(9.5, 11)), dataset_size_gb: round1(rng.between(200, 5000)), num_gpus: gpus, distributed: true, max_nodes: rng.pick([2, 4]), gpu_memory_required_gb: round1(rng.between(15, 38)), expected_duration_h: round1(rng.between(100, 1000)) });
  }
  return { ...w, ...hidden(rng, w.framework), baseHours: w.expected_duration_h as number, baseline: 1, goal: 'MAXIMIZE' };
}

/** Shapes the training catalog does not have; MI300X is a GPU type the advisor has no speed for. */
const OTHER_SHAPES: Array<Omit<CatalogOffer, 'region'>> = [
  { provider: 'aws', instanceType: 'g5.48xlarge', gpuType: 'A10G', gpuCount: 8, gpuMemoryGb: 24, vcpus: 192, memoryGb: 768, onDemand: 16.288, spot: 5.9, gpuSpeed: 0.35, preemptionRate: 0.15 },
  { provider: 'gcp', instanceType: 'g2-standard-48', gpuType: 'L4', gpuCount: 4, gpuMemoryGb: 24, vcpus: 48, memoryGb: 192, onDemand: 4.0, spot: 1.3, gpuSpeed: 0.3, preemptionRate: 0.1 },
  { provider: 'azure', instanceType: 'Standard_NC40ads_H100_v5', gpuType: 'H100', gpuCount: 1, gpuMemoryGb: 94, vcpus: 40, memoryGb: 320, onDemand: 6.98, spot: 2.8, gpuSpeed: 2.3, preemptionRate: 0.14 },
  { provider: 'lambda', instanceType: 'gpu_8x_a100_80gb_sxm4', gpuType: 'A100', gpuCount: 8, gpuMemoryGb: 80, vcpus: 240, memoryGb: 1800, onDemand: 14.32, spot: null, gpuSpeed: 1.1, preemptionRate: 0 },
  { provider: 'lambda', instanceType: 'gpu_2x_a100_sxm4', gpuType: 'A100', gpuCount: 2, gpuMemoryGb: 40, vcpus: 60, memoryGb: 400, onDemand: 2.58, spot: null, gpuSpeed: 1.05, preemptionRate: 0 },
  { provider: 'oci', instanceType: 'BM.GPU.MI300X.8', gpuType: 'MI300X', gpuCount: 8, gpuMemoryGb: 192, vcpus: 112, memoryGb: 2048, onDemand: 48, spot: null, gpuSpeed: 2, preemptionRate: 0 },
  { provider: 'oci', instanceType: 'VM.GPU.A10.1', gpuType: 'A10', gpuCount: 1, gpuMemoryGb: 24, vcpus: 15, memoryGb: 240, onDemand: 2, spot: null, gpuSpeed: 0.35, preemptionRate: 0 },
];

/** The training catalog with prices moved by up to +-25% per offer, plus the other shapes. */
export function otherCatalog(seed: number): CatalogOffer[] {
  const rng = new Random(seed);
  const moved = CATALOG.map((o) => {
    const f = rng.between(0.75, 1.25);
    return { ...o, onDemand: Math.round(o.onDemand * f * 1000) / 1000, spot: o.spot === null ? null : Math.round(o.spot * f * 1000) / 1000 };
  });
  return [...moved, ...OTHER_SHAPES.map((s) => ({ ...s, region: s.provider === 'oci' ? 'us-ashburn-1' : s.provider === 'lambda' ? 'us-west-1' : s.provider === 'aws' ? 'us-east-1' : s.provider === 'gcp' ? 'us-central1' : 'eastus' }))];
}
