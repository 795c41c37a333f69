/**
 * A realistic instance catalog: list prices of common GPU offers (on-demand, USD/hour, as
 * published by the providers in 2025-2026, rounded), spot prices at typical discounts, and
 * the ground truth the generator runs jobs with: the speed of one GPU of the offer (per
 * GPU, never the whole machine: a job only goes as fast as the GPUs it uses, see truth.ts)
 * and a hidden per-offer preemption probability.
 */
export interface CatalogOffer {
  provider: string;
  region: string;
  instanceType: string;
  gpuType: string;
  gpuCount: number;
  gpuMemoryGb: number;
  vcpus: number;
  memoryGb: number;
  onDemand: number;
  spot: number | null;
  /** Relative training speed of one of its GPUs, A100 40 GB = 1 (SXM parts a little faster than PCIe ones). */
  gpuSpeed: number;
  /** Chance that a spot run is preempted at least once. */
  preemptionRate: number;
}

type Shape = Omit<CatalogOffer, 'provider' | 'region'>;

const SHAPES: Record<string, Shape[]> = {
  aws: [
    { instanceType: 'g4dn.xlarge', gpuType: 'T4', gpuCount: 1, gpuMemoryGb: 16, vcpus: 4, memoryGb: 16, onDemand: 0.526, spot: 0.158, gpuSpeed: 0.18, preemptionRate: 0.06 },
    { instanceType: 'g5.xlarge', gpuType: 'A10G', gpuCount: 1, gpuMemoryGb: 24, vcpus: 4, memoryGb: 16, onDemand: 1.006, spot: 0.362, gpuSpeed: 0.35, preemptionRate: 0.09 },
    { instanceType: 'p3.2xlarge', gpuType: 'V100', gpuCount: 1, gpuMemoryGb: 16, vcpus: 8, memoryGb: 61, onDemand: 3.06, spot: 0.918, gpuSpeed: 0.45, preemptionRate: 0.14 },
    { instanceType: 'g5.12xlarge', gpuType: 'A10G', gpuCount: 4, gpuMemoryGb: 24, vcpus: 48, memoryGb: 192, onDemand: 5.672, spot: 2.042, gpuSpeed: 0.35, preemptionRate: 0.12 },
    { instanceType: 'p4d.24xlarge', gpuType: 'A100', gpuCount: 8, gpuMemoryGb: 40, vcpus: 96, memoryGb: 1152, onDemand: 32.77, spot: 12.12, gpuSpeed: 1.0, preemptionRate: 0.22 },
    { instanceType: 'p5.48xlarge', gpuType: 'H100', gpuCount: 8, gpuMemoryGb: 80, vcpus: 192, memoryGb: 2048, onDemand: 98.32, spot: 39.33, gpuSpeed: 2.5, preemptionRate: 0.27 },
  ],
  gcp: [
    { instanceType: 'g2-standard-4', gpuType: 'L4', gpuCount: 1, gpuMemoryGb: 24, vcpus: 4, memoryGb: 16, onDemand: 0.707, spot: 0.226, gpuSpeed: 0.3, preemptionRate: 0.08 },
    { instanceType: 'a2-highgpu-1g', gpuType: 'A100', gpuCount: 1, gpuMemoryGb: 40, vcpus: 12, memoryGb: 85, onDemand: 3.673, spot: 1.102, gpuSpeed: 1, preemptionRate: 0.12 },
    { instanceType: 'a2-highgpu-2g', gpuType: 'A100', gpuCount: 2, gpuMemoryGb: 40, vcpus: 24, memoryGb: 170, onDemand: 7.348, spot: 2.204, gpuSpeed: 1, preemptionRate: 0.13 },
    { instanceType: 'a2-ultragpu-1g', gpuType: 'A100', gpuCount: 1, gpuMemoryGb: 80, vcpus: 12, memoryGb: 170, onDemand: 5.069, spot: 1.571, gpuSpeed: 1.15, preemptionRate: 0.16 },
    { instanceType: 'a3-highgpu-8g', gpuType: 'H100', gpuCount: 8, gpuMemoryGb: 80, vcpus: 208, memoryGb: 1872, onDemand: 88.25, spot: 30.89, gpuSpeed: 2.5, preemptionRate: 0.3 },
  ],
  azure: [
    { instanceType: 'Standard_NC4as_T4_v3', gpuType: 'T4', gpuCount: 1, gpuMemoryGb: 16, vcpus: 4, memoryGb: 28, onDemand: 0.526, spot: 0.21, gpuSpeed: 0.18, preemptionRate: 0.05 },
    { instanceType: 'Standard_NC24ads_A100_v4', gpuType: 'A100', gpuCount: 1, gpuMemoryGb: 80, vcpus: 24, memoryGb: 220, onDemand: 3.673, spot: 1.469, gpuSpeed: 1.1, preemptionRate: 0.11 },
    { instanceType: 'Standard_NC48ads_A100_v4', gpuType: 'A100', gpuCount: 2, gpuMemoryGb: 80, vcpus: 48, memoryGb: 440, onDemand: 7.346, spot: 2.938, gpuSpeed: 1.1, preemptionRate: 0.12 },
    { instanceType: 'Standard_ND96asr_v4', gpuType: 'A100', gpuCount: 8, gpuMemoryGb: 40, vcpus: 96, memoryGb: 900, onDemand: 27.197, spot: 10.879, gpuSpeed: 1.0, preemptionRate: 0.19 },
  ],
  lambda: [
    { instanceType: 'gpu_1x_a10', gpuType: 'A10', gpuCount: 1, gpuMemoryGb: 24, vcpus: 30, memoryGb: 200, onDemand: 0.75, spot: null, gpuSpeed: 0.35, preemptionRate: 0 },
    { instanceType: 'gpu_1x_a100_sxm4', gpuType: 'A100', gpuCount: 1, gpuMemoryGb: 40, vcpus: 30, memoryGb: 200, onDemand: 1.29, spot: null, gpuSpeed: 1.05, preemptionRate: 0 },
    { instanceType: 'gpu_1x_h100_pcie', gpuType: 'H100', gpuCount: 1, gpuMemoryGb: 80, vcpus: 26, memoryGb: 200, onDemand: 2.49, spot: null, gpuSpeed: 2.2, preemptionRate: 0 },
  ],
};

const REGIONS: Record<string, Array<[string, number]>> = {
  // [region, price multiplier]
  aws: [['us-east-1', 1], ['us-west-2', 1], ['eu-west-1', 1.08]],
  gcp: [['us-central1', 1], ['europe-west4', 1.1]],
  azure: [['eastus', 1], ['westeurope', 1.12]],
  lambda: [['us-west-1', 1]],
};

export const CATALOG: CatalogOffer[] = Object.entries(SHAPES).flatMap(([provider, shapes]) =>
  (REGIONS[provider] ?? []).flatMap(([region, mult]) =>
    shapes.map((s) => ({
      ...s,
      provider,
      region,
      onDemand: Math.round(s.onDemand * mult * 1000) / 1000,
      spot: s.spot === null ? null : Math.round(s.spot * mult * 1000) / 1000,
    })),
  ),
);
