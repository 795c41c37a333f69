/**
 * Spot risk of one offer (provider, region, instance type) from its spot runs. Pure.
 *
 * - Preemption rate: the share of spot runs preempted at least once, as a Beta posterior
 *   (prior Beta(1, 9): about 10%, worth 10 runs), so 1 preemption in 2 runs reads as
 *   16.7% [3.3%, 36.4%] (90%), not a confident 50%. The mean and an equal-tailed credible interval.
 * - Savings: (on-demand - spot) / on-demand from the latest catalog prices.
 * - Expected cost with retries: see expectedCost.ts, for the offer's mean run length,
 *   with and without checkpoints.
 * - Risk band on the AWS Spot Advisor scale (posterior mean): <5%, 5-10%, 10-15%,
 *   15-20%, >20%.
 * - Recommendation: spot when savings > 30% and rate < 20%, for jobs that checkpoint.
 */
import { betaPosterior, posteriorMean } from './beta.ts';
import { expectedCostRatio, lambdaFromRunProbability } from './expectedCost.ts';

export interface SpotRules {
  priorA: number;
  priorB: number;
  credibleLevel: number;
  minSavingsPct: number;
  maxPreemptionRate: number;
  requireCheckpointing: boolean;
  restartHours: number;
  checkpointHours: number;
}

export interface SpotStats {
  runs: number;
  preemptedRuns: number;
  preemptions: number;
  runHours: number;
}

export interface SpotPrices {
  onDemand: number;
  spot: number | null;
}

export interface SpotAssessment {
  preemptionRate: number;
  rateLower: number;
  rateUpper: number;
  savingsPct: number | null;
  expectedCostRatio: number | null;
  expectedCostRatioNoCheckpoint: number | null;
  meanRunHours: number | null;
  riskBand: string;
  recommendSpot: boolean;
  reason: string;
}

export const RISK_BANDS = ['<5%', '5-10%', '10-15%', '15-20%', '>20%'] as const;

export function riskBand(rate: number): (typeof RISK_BANDS)[number] {
  if (rate < 0.05) return '<5%';
  if (rate < 0.1) return '5-10%';
  if (rate < 0.15) return '10-15%';
  if (rate < 0.2) return '15-20%';
  return '>20%';
}

/** The recommendation's inputs and tests, shared by spotVerdict and assessSpot (one definition). */
function verdictParts(stats: SpotStats, prices: SpotPrices | null, rules: SpotRules) {
  const mean = posteriorMean(stats.preemptedRuns, stats.runs, rules.priorA, rules.priorB);
  const savingsPct = prices && prices.spot !== null && prices.onDemand > 0 ? ((prices.onDemand - prices.spot) / prices.onDemand) * 100 : null;
  const cheapEnough = savingsPct !== null && savingsPct > rules.minSavingsPct;
  const safeEnough = mean < rules.maxPreemptionRate;
  return { mean, savingsPct, cheapEnough, safeEnough, recommendSpot: cheapEnough && safeEnough };
}

export type SpotVerdict = Pick<SpotAssessment, 'preemptionRate' | 'riskBand' | 'recommendSpot'>;

/**
 * assessSpot's rate, band and recommendation alone (the same values), without the credible
 * interval's quantiles (two bisections over the incomplete beta function) or the expected
 * costs: what the spot processor needs to tell whether an offer's risk changed, per label.
 */
export function spotVerdict(stats: SpotStats, prices: SpotPrices | null, rules: SpotRules): SpotVerdict {
  const v = verdictParts(stats, prices, rules);
  return { preemptionRate: v.mean, riskBand: riskBand(v.mean), recommendSpot: v.recommendSpot };
}

export function assessSpot(stats: SpotStats, prices: SpotPrices | null, rules: SpotRules): SpotAssessment {
  const rate = betaPosterior(stats.preemptedRuns, stats.runs, rules.priorA, rules.priorB, rules.credibleLevel);
  const { savingsPct, cheapEnough, safeEnough, recommendSpot } = verdictParts(stats, prices, rules);
  const meanRunHours = stats.runs > 0 && stats.runHours > 0 ? stats.runHours / stats.runs : null;
  let ratio: number | null = null;
  let ratioNoCheckpoint: number | null = null;
  if (prices && prices.spot !== null && meanRunHours !== null) {
    const lambda = lambdaFromRunProbability(rate.mean, meanRunHours);
    const base = { spotPrice: prices.spot, onDemandPrice: prices.onDemand, hours: meanRunHours, lambda, restartHours: rules.restartHours };
    ratio = expectedCostRatio({ ...base, checkpointHours: rules.checkpointHours });
    ratioNoCheckpoint = expectedCostRatio({ ...base, checkpointHours: null });
  }
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const reason = [
    savingsPct === null ? 'no spot price in the catalog' : `saves ${savingsPct.toFixed(1)}% ${cheapEnough ? '>' : '<='} ${rules.minSavingsPct}%`,
    `preemption ${pct(rate.mean)} [${pct(rate.lower)}, ${pct(rate.upper)}] over ${stats.runs} runs ${safeEnough ? '<' : '>='} ${pct(rules.maxPreemptionRate)}`,
    recommendSpot ? (rules.requireCheckpointing ? 'spot for jobs that checkpoint' : 'spot') : 'on-demand',
  ].join('; ');
  return {
    preemptionRate: rate.mean,
    rateLower: rate.lower,
    rateUpper: rate.upper,
    savingsPct,
    expectedCostRatio: ratio,
    expectedCostRatioNoCheckpoint: ratioNoCheckpoint,
    meanRunHours,
    riskBand: riskBand(rate.mean),
    recommendSpot,
    reason,
  };
}

/** Whether a job should run on spot: the offer's verdict, and checkpointing when required. */
export function spotForJob(a: SpotAssessment, checkpointing: boolean, rules: SpotRules): boolean {
  return a.recommendSpot && (checkpointing || !rules.requireCheckpointing);
}
