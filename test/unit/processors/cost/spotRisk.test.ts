import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../../config/options.ts';
import { betaCdf, betaPosterior, betaQuantile } from '../../../../processors/cost/beta.ts';
import { expectedRunHours, lambdaFromRunProbability } from '../../../../processors/cost/expectedCost.ts';
import { assessSpot, riskBand, spotForJob, spotVerdict } from '../../../../processors/cost/spotRisk.ts';
import { Random } from '../../../../simulate/random.ts';

const rules = DEFAULTS.spot;

/** Simpson's rule on the Beta density: an independent check of the continued fraction. */
function betaCdfByIntegration(x: number, a: number, b: number): number {
  const density = (t: number) => t ** (a - 1) * (1 - t) ** (b - 1);
  const integrate = (hi: number) => {
    const n = 20_000;
    const h = hi / n;
    let s = density(0) + density(hi);
    for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * density(i * h);
    return (s * h) / 3;
  };
  return integrate(x) / integrate(1);
}

describe('Beta posterior', () => {
  it.each([
    [0.1, 2, 10],
    [0.3, 2, 10],
    [0.05, 5, 95],
    [0.5, 3.5, 2.5],
  ])('cdf(%f; %f, %f) agrees with numerical integration', (x, a, b) => {
    expect(betaCdf(x, a, b)).toBeCloseTo(betaCdfByIntegration(x, a, b), 6);
    expect(betaCdf(betaQuantile(0.9, a, b), a, b)).toBeCloseTo(0.9, 9);
  });

  it('does not report 1 preemption in 2 runs as a confident 50%', () => {
    const r = betaPosterior(1, 2, rules.priorA, rules.priorB, rules.credibleLevel);
    expect(r.mean).toBeCloseTo(2 / 12, 9);
    expect(r.lower).toBeLessThan(0.05);
    expect(r.upper).toBeGreaterThan(0.3);
  });

  it('narrows around the true rate as runs accumulate', () => {
    const rng = new Random(4);
    let k = 0;
    const n = 2_000;
    for (let i = 0; i < n; i++) if (rng.chance(0.12)) k++;
    const r = betaPosterior(k, n, rules.priorA, rules.priorB, rules.credibleLevel);
    expect(r.lower).toBeLessThan(0.12);
    expect(r.upper).toBeGreaterThan(0.12);
    expect(r.upper - r.lower).toBeLessThan(0.03);
  });
});

/** Simulates preemptions as a Poisson process and restarts from the last checkpoint. */
function monteCarloHours(hours: number, lambda: number, restart: number, checkpoint: number | null, runs: number, seed: number): number {
  const rng = new Random(seed);
  let total = 0;
  for (let i = 0; i < runs; i++) {
    let done = 0;
    let time = 0;
    const c = checkpoint ?? hours;
    while (done < hours - 1e-12) {
      const segment = Math.min(c, hours - done);
      for (;;) {
        const failAt = -Math.log(1 - rng.next()) / lambda;
        if (failAt >= segment) {
          time += segment;
          break;
        }
        time += failAt + restart;
      }
      done += segment;
    }
    total += time;
  }
  return total / runs;
}

describe('expected cost with retries', () => {
  it.each([
    ['checkpointing, 15% per 6 h run', 6, 0.15, 0.5],
    ['no checkpoints, 15% per 6 h run', 6, 0.15, null],
    ['no checkpoints, 50% per 10 h run', 10, 0.5, null],
    ['checkpointing, 50% per 10 h run', 10, 0.5, 1],
  ])('agrees with a Monte Carlo simulation within 5%: %s', (_name, hours, p, checkpoint) => {
    const lambda = lambdaFromRunProbability(p, hours);
    const model = expectedRunHours(hours, lambda, rules.restartHours, checkpoint);
    const simulated = monteCarloHours(hours, lambda, rules.restartHours, checkpoint, 20_000, 7);
    expect(Math.abs(model - simulated) / simulated).toBeLessThan(0.05);
  });

  it('charges a job that restarts from scratch more than one that resumes', () => {
    const lambda = lambdaFromRunProbability(0.3, 8);
    expect(expectedRunHours(8, lambda, 0.1, null)).toBeGreaterThan(expectedRunHours(8, lambda, 0.1, 0.5));
    expect(expectedRunHours(8, 0, 0.1, null)).toBe(8);
  });
});

describe('spot recommendation', () => {
  const prices = (savingsPct: number) => ({ onDemand: 10, spot: 10 * (1 - savingsPct / 100) });
  const safe = { runs: 100, preemptedRuns: 5, preemptions: 5, runHours: 400 };

  it('flips exactly at the savings threshold', () => {
    expect(assessSpot(safe, prices(30), rules).recommendSpot).toBe(false);
    expect(assessSpot(safe, prices(30.01), rules).recommendSpot).toBe(true);
  });

  it('flips exactly at the preemption threshold (posterior mean)', () => {
    // (k + 1) / (n + 10): 4 / 20 = 0.20 exactly, 4 / 21 just under.
    expect(assessSpot({ runs: 10, preemptedRuns: 3, preemptions: 3, runHours: 40 }, prices(60), rules)).toMatchObject({ preemptionRate: 0.2, recommendSpot: false });
    expect(assessSpot({ runs: 11, preemptedRuns: 3, preemptions: 3, runHours: 44 }, prices(60), rules).recommendSpot).toBe(true);
  });

  it('never puts a job without checkpoints on spot when checkpointing is required', () => {
    const a = assessSpot(safe, prices(60), rules);
    expect(spotForJob(a, true, rules)).toBe(true);
    expect(spotForJob(a, false, rules)).toBe(false);
    expect(spotForJob(a, false, { ...rules, requireCheckpointing: false })).toBe(true);
  });

  it('bands on the Spot Advisor scale', () => {
    expect([0.049, 0.05, 0.099, 0.1, 0.149, 0.15, 0.199, 0.2].map(riskBand)).toEqual(['<5%', '5-10%', '5-10%', '10-15%', '10-15%', '15-20%', '15-20%', '>20%']);
  });

  it('prices the expected cost of retries into the ratio', () => {
    const a = assessSpot({ runs: 100, preemptedRuns: 30, preemptions: 40, runHours: 800 }, prices(60), rules);
    expect(a.expectedCostRatio).toBeGreaterThan(0.4);
    expect(a.expectedCostRatioNoCheckpoint).toBeGreaterThan(a.expectedCostRatio as number);
  });
});

describe('the spot processor\'s cheap paths give the same doubles', () => {
  /** betaQuantile as it was: always 100 bisection steps. */
  const fullBisection = (q: number, a: number, b: number) => {
    let lo = 0;
    let hi = 1;
    for (let i = 0; i < 100; i++) {
      const mid = (lo + hi) / 2;
      if (betaCdf(mid, a, b) < q) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  };

  it('betaQuantile, stopping once its bounds are adjacent doubles, returns what 100 steps return', () => {
    const rng = new Random(11);
    for (let i = 0; i < 300; i++) {
      const n = Math.floor(rng.next() * 3_000);
      const k = Math.floor(rng.next() * (n + 1) * (rng.next() < 0.5 ? 0.2 : 1));
      const a = rules.priorA + k;
      const b = rules.priorB + n - k;
      for (const q of [0.05, 0.95, 0.5, 1e-6, 1 - 1e-9, rng.next()]) expect(betaQuantile(q, a, b)).toBe(fullBisection(q, a, b));
    }
  });

  it('spotVerdict is assessSpot\'s rate, band and recommendation', () => {
    const rng = new Random(12);
    for (let i = 0; i < 500; i++) {
      const runs = Math.floor(rng.next() * 400);
      const preemptedRuns = Math.floor(rng.next() * (runs + 1) * 0.4);
      const stats = { runs, preemptedRuns, preemptions: preemptedRuns, runHours: runs * 3 * rng.next() };
      const prices = rng.next() < 0.1 ? null : { onDemand: rng.next() < 0.05 ? 0 : 10, spot: rng.next() < 0.1 ? null : 10 * rng.next() };
      const a = assessSpot(stats, prices, rules);
      expect(spotVerdict(stats, prices, rules)).toEqual({ preemptionRate: a.preemptionRate, riskBand: a.riskBand, recommendSpot: a.recommendSpot });
    }
  });
});
