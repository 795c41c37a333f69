/**
 * Scaling efficiency learned from outcomes, per workload class (framework and model
 * family), with the prior as fallback. Pure: statistics in, an estimate out.
 *
 * A succeeded run without preemptions, whose workload states its work W (hours on one
 * reference GPU) and ran on an offer whose per-GPU speed s is known, using g GPUs for d
 * hours, observes its speed-up S = W / (s d). Amdahl's law says 1 / S = 1 - p x, with
 * x = 1 - 1 / g; if the expectations of the class are off by a factor b (the real work is
 * b W), 1 / S = b (1 - p x). So u = s d / W is linear in x:
 * - runs at two or more GPU counts: least squares of u on x gives b (intercept) and p
 *   (- slope / intercept): scaling is told apart from biased expectations;
 * - runs at one count g > 1 only: b is taken as 1 and p = (1 - mean u) / x, which makes
 *   the hours at that count right on average;
 * - single-GPU runs only: nothing about scaling (the prior stays); mean u is b.
 * The observed p is then shrunk towards the prior: (m p_obs + k p_prior) / (m + k), m the
 * multi-GPU runs, k = `priorWeightRuns`. A run that spanned machines is first corrected
 * for the inter-node loss the model assumes.
 */
import type { InstanceOffer, RelevanceLabel, WorkloadProfile } from '../../schemas/generated/records.ts';
import { amdahlEfficiency, gpusOf, place, type ScalingPriors } from './placement.ts';

export interface ScalingStats {
  runs: number;
  multiGpuRuns: number;
  sumX: number;
  sumU: number;
  sumXX: number;
  sumXU: number;
  /** Single-GPU runs: their u is the expectation ratio. */
  singleRuns: number;
  singleSumU: number;
  /** Distinct GPU counts seen (bounded). */
  gpuCounts: number[];
}

export interface ScalingEstimate {
  parallelFraction: number;
  prior: number;
  observed: number | null;
  expectationRatio: number | null;
}

export const EMPTY_STATS: ScalingStats = { runs: 0, multiGpuRuns: 0, sumX: 0, sumU: 0, sumXX: 0, sumXU: 0, singleRuns: 0, singleSumU: 0, gpuCounts: [] };

const MAX_GPU_COUNTS = 32;
/** u outside this range is a measurement gone wrong (a hung job, a wrong expectation): clamped so one run cannot swing a class. */
const U_RANGE = [0.05, 20] as const;

/** One run's (x, u), or null when the run says nothing about speed (failed, preempted, no expectation, unknown GPU). */
export function observation(label: Pick<RelevanceLabel, 'status' | 'preemption_count' | 'duration_s'> & { workload: WorkloadProfile }, offer: InstanceOffer, priors: ScalingPriors): { x: number; u: number; gpus: number } | null {
  const w = label.workload;
  const work = w.expected_duration_h;
  if (label.status !== 'SUCCEEDED' || label.preemption_count > 0 || work === null || !(work > 0) || !(label.duration_s > 0)) return null;
  // Speed and machines do not depend on p: any p places the job the same way.
  const p = place(w, offer, 1, priors.interNodeEfficiency, work);
  if (!p.fits || !Number.isFinite(p.perGpuSpeed) || p.perGpuSpeed <= 0) return null;
  const g = gpusOf(w);
  let u = (p.perGpuSpeed * (label.duration_s / 3600)) / work;
  if (p.nodes > 1) u *= priors.interNodeEfficiency;
  u = Math.min(U_RANGE[1], Math.max(U_RANGE[0], u));
  return { x: 1 - 1 / g, u, gpus: g };
}

export function addObservation(s: ScalingStats, o: { x: number; u: number; gpus: number }): ScalingStats {
  const multi = o.gpus > 1;
  const gpuCounts = s.gpuCounts.includes(o.gpus) || s.gpuCounts.length >= MAX_GPU_COUNTS ? s.gpuCounts : [...s.gpuCounts, o.gpus].sort((a, b) => a - b);
  return {
    runs: s.runs + 1,
    multiGpuRuns: s.multiGpuRuns + (multi ? 1 : 0),
    sumX: s.sumX + o.x,
    sumU: s.sumU + o.u,
    sumXX: s.sumXX + o.x * o.x,
    sumXU: s.sumXU + o.x * o.u,
    singleRuns: s.singleRuns + (multi ? 0 : 1),
    singleSumU: s.singleSumU + (multi ? 0 : o.u),
    gpuCounts,
  };
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

export function estimateScaling(s: ScalingStats, prior: number, priorWeightRuns: number): ScalingEstimate {
  let observed: number | null = null;
  let expectationRatio: number | null = s.singleRuns > 0 ? s.singleSumU / s.singleRuns : null;
  if (s.multiGpuRuns > 0) {
    const n = s.runs;
    const meanX = s.sumX / n;
    const meanU = s.sumU / n;
    const varX = s.sumXX / n - meanX * meanX;
    if (s.gpuCounts.length >= 2 && varX > 1e-9) {
      const slope = (s.sumXU / n - meanX * meanU) / varX;
      const intercept = meanU - slope * meanX;
      if (intercept > 0) {
        observed = clamp01(-slope / intercept);
        expectationRatio = intercept;
      }
    }
    if (observed === null) observed = clamp01((1 - meanU) / meanX);
  }
  const m = s.multiGpuRuns;
  const parallelFraction = observed === null ? prior : (m * observed + priorWeightRuns * prior) / (m + priorWeightRuns);
  return { parallelFraction, prior, observed, expectationRatio };
}

/** Efficiency on g GPUs of one machine for an estimate, for reading. */
export function efficiencyAt(e: ScalingEstimate, g: number): number {
  return amdahlEfficiency(e.parallelFraction, g);
}
