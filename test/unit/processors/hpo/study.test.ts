import { describe, expect, it } from 'vitest';
import { branin, evaluateConfig, hartmann6, paramsOf, rastrigin, rosenbrock, sphere, type TestFunction } from '../../../../bench/hpo-functions.ts';
import { type AuditRecord, createStudy, InvalidStudyError, restoreStudy, type StrategyName, type Study, StudyStateError, type StudyOptions, type ParamSpec, type Configuration } from '../../../../processors/hpo/index.ts';
import { SeededRandom } from '../../../../processors/hpo/random.ts';

const MIN = [{ name: 'y', direction: 'MINIMIZE' as const }];

function optimise(fn: TestFunction, options: Partial<StudyOptions>): Study {
  const study = createStudy({ params: paramsOf(fn), objectives: MIN, budget: 100, seed: 1, ...options });
  while (!study.isDone()) {
    const t = study.ask();
    study.tell(t.trialId, evaluateConfig(fn, t.params));
  }
  return study;
}

const medianBest = (fn: TestFunction, options: Partial<StudyOptions>, seeds = [1, 2, 3, 4, 5]) => {
  const values = seeds.map((seed) => optimise(fn, { ...options, seed }).best()!.value).sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)]!;
};

describe('each strategy finds known optima (median of 5 seeds)', () => {
  it('Nelder–Mead: 2-d sphere and Rosenbrock', () => {
    expect(medianBest(sphere(2), { strategy: 'nelder-mead', budget: 150 })).toBeLessThan(1e-6);
    expect(medianBest(rosenbrock(2), { strategy: 'nelder-mead', budget: 300 })).toBeLessThan(1e-3);
  });

  it('TPE: Branin within 0.05 of 0.3979 and Hartmann-6 below -2.9 in 150 evaluations', () => {
    expect(medianBest(branin, { strategy: 'tpe', budget: 150 })).toBeLessThan(0.3979 + 0.05);
    expect(medianBest(hartmann6, { strategy: 'tpe', budget: 150 })).toBeLessThan(-2.9);
  });

  it('auto: Branin within 1e-3, Rosenbrock-2d below 0.01, Hartmann-6 below -3.3, Rosenbrock-10d below 60', () => {
    expect(medianBest(branin, { strategy: 'auto', budget: 100 })).toBeLessThan(0.3979 + 1e-3);
    expect(medianBest(rosenbrock(2), { strategy: 'auto', budget: 150 })).toBeLessThan(0.01);
    // Optimum -3.3224; before the trust region, auto's median here was above -3.2.
    expect(medianBest(hartmann6, { strategy: 'auto', budget: 150 })).toBeLessThan(-3.3);
    expect(medianBest(rosenbrock(10), { strategy: 'auto', budget: 100 })).toBeLessThan(60);
  });

  it('maximises when told to (negated sphere)', () => {
    const fn = sphere(2);
    const study = createStudy({ params: paramsOf(fn), objectives: [{ name: 'score', direction: 'MAXIMIZE' }], budget: 80, seed: 4 });
    while (!study.isDone()) {
      const t = study.ask();
      study.tell(t.trialId, -evaluateConfig(fn, t.params));
    }
    expect(study.best()!.value).toBeGreaterThan(-0.01);
  });
});

/** Runs a study with up to `parallel` trials in flight, telling results in a shuffled order. */
async function runInterleaved(options: StudyOptions, fn: TestFunction, timingSeed: number | null, stopAfter = Infinity): Promise<{ asks: string[]; study: Study }> {
  const study = createStudy(options);
  const asks: string[] = [];
  const timing = new SeededRandom(timingSeed ?? 0, 'timing');
  // The order of tells is fixed by the trial numbers (oldest first), so the sequence of calls is the
  // same in every run; only the wall-clock delays between them vary.
  let told = 0;
  while (!study.isDone() && told < stopAfter) {
    while (study.canAsk()) {
      const t = study.ask();
      asks.push(JSON.stringify([t.trialId, t.params, t.strategy]));
    }
    const oldest = study.pending()[0]!;
    if (timingSeed !== null) await new Promise((r) => setTimeout(r, timing.int(3)));
    study.tell(oldest.trialId, oldest.number % 11 === 5 ? null : evaluateConfig(fn, oldest.params));
    told++;
  }
  return { asks, study };
}

describe('determinism', () => {
  it('the same seed and the same asks and tells give the same suggestions, whatever the timing', async () => {
    for (const strategy of ['auto', 'tpe', 'nelder-mead', 'random'] as StrategyName[]) {
      const options: StudyOptions = { params: paramsOf(branin), objectives: MIN, budget: 40, seed: 12, strategy, parallelism: 3 };
      const a = await runInterleaved(options, branin, 1);
      const b = await runInterleaved(options, branin, 2);
      const c = await runInterleaved(options, branin, null);
      expect(b.asks).toEqual(a.asks);
      expect(c.asks).toEqual(a.asks);
    }
  });

  it('another seed gives other suggestions', async () => {
    const options: StudyOptions = { params: paramsOf(branin), objectives: MIN, budget: 20, seed: 12 };
    const a = await runInterleaved(options, branin, null);
    const b = await runInterleaved({ ...options, seed: 13 }, branin, null);
    expect(b.asks).not.toEqual(a.asks);
  });
});

describe('snapshot and restore', () => {
  const mixedParams: ParamSpec[] = [
    ...paramsOf(hartmann6),
    { name: 'layers', kind: 'INT', low: 1, high: 6, log: false, choices: [] },
    { name: 'lr', kind: 'FLOAT', low: 1e-4, high: 1, log: true, choices: [] },
    { name: 'opt', kind: 'CATEGORICAL', low: null, high: null, log: false, choices: ['adam', 'sgd', 'lion'] },
  ];
  const objective = (p: Configuration) =>
    evaluateConfig(hartmann6, p) + 0.01 * (p.layers as number) + 0.1 * Math.abs(Math.log10(p.lr as number) + 2) + (p.opt === 'sgd' ? 0 : 0.05);

  it.each(['auto', 'tpe', 'nelder-mead', 'sobol', 'random', 'nsga2'] as StrategyName[])('%s: snapshot -> JSON -> restore mid-run gives the same next asks', (strategy) => {
    const objectives = strategy === 'nsga2' ? [...MIN, { name: 'size', direction: 'MINIMIZE' as const }] : MIN;
    const value = (p: Configuration) => (strategy === 'nsga2' ? [objective(p), p.layers as number] : objective(p));
    const original = createStudy({ params: mixedParams, objectives, budget: 120, seed: 99, strategy, parallelism: 4, nsga2: { populationSize: 8 } });
    // Run to the middle with trials pending.
    for (let i = 0; i < 55; i++) {
      while (original.canAsk()) original.ask();
      const oldest = original.pending()[0]!;
      original.tell(oldest.trialId, value(oldest.params));
    }
    expect(original.pending().length).toBeGreaterThan(0);
    const restored = restoreStudy(JSON.parse(JSON.stringify(original.snapshot())));
    expect(restored.pending()).toEqual(original.pending());
    for (let i = 0; i < 40; i++) {
      while (original.canAsk()) expect(restored.ask()).toEqual(original.ask());
      const oldest = original.pending()[0]!;
      original.tell(oldest.trialId, value(oldest.params));
      restored.tell(oldest.trialId, value(oldest.params));
    }
    expect(restored.best()).toEqual(original.best());
    expect(restored.snapshot()).toEqual(original.snapshot());
  });
});

describe('parallel trials', () => {
  it('Nelder–Mead asks each vertex once and lets TPE fill in while the simplex waits', () => {
    const study = createStudy({ params: paramsOf(branin), objectives: MIN, budget: 60, seed: 3, strategy: 'nelder-mead', parallelism: 4 });
    const first = [study.ask(), study.ask(), study.ask(), study.ask()];
    // The initial simplex has 3 vertices; the 4th ask is a fallback (Sobol before any result).
    expect(first.map((t) => t.strategy)).toEqual(['nelder-mead', 'nelder-mead', 'nelder-mead', 'sobol']);
    expect(new Set(first.map((t) => JSON.stringify(t.params))).size).toBe(4);
    expect(study.auditLog.some((a) => a.kind === 'fallback')).toBe(true);
  });

  it('the trust region has one step out at a time and lets TPE fill in meanwhile', () => {
    const fn = rosenbrock(4);
    const study = createStudy({ params: paramsOf(fn), objectives: MIN, budget: 60, seed: 2, parallelism: 3 });
    const strategies: string[] = [];
    while (!study.isDone()) {
      while (study.canAsk()) {
        const t = study.ask();
        strategies.push(t.strategy);
        const pendingSteps = study.pending().filter((p) => p.strategy === 'trust-region').length;
        expect(pendingSteps).toBeLessThanOrEqual(1);
      }
      const oldest = study.pending()[0]!;
      study.tell(oldest.trialId, evaluateConfig(fn, oldest.params));
    }
    expect(strategies).toContain('trust-region');
    expect(strategies).toContain('tpe');
    expect(study.auditLog.some((a) => a.kind === 'fallback' && a.detail.from === 'trust-region')).toBe(true);
  });

  it('refuses asks beyond the parallelism and beyond the budget', () => {
    const study = createStudy({ params: paramsOf(branin), objectives: MIN, budget: 3, seed: 3, parallelism: 2 });
    const a = study.ask();
    study.ask();
    expect(study.canAsk()).toBe(false);
    expect(() => study.ask()).toThrow(StudyStateError);
    study.tell(a.trialId, 1);
    study.ask();
    expect(() => study.ask()).toThrow(/budget of 3 trials is spent/);
  });
});

describe('tells', () => {
  it('treats null, NaN and infinities as failed trials and records them', () => {
    const audit: AuditRecord[] = [];
    const study = createStudy({ params: paramsOf(branin), objectives: MIN, budget: 5, seed: 1, parallelism: 5 }, { onAudit: (r) => audit.push(r) });
    const trials = Array.from({ length: 5 }, () => study.ask());
    study.tell(trials[0]!.trialId, null);
    study.tell(trials[1]!.trialId, NaN);
    study.markFailed(trials[2]!.trialId);
    study.tell(trials[3]!.trialId, Infinity);
    study.tell(trials[4]!.trialId, 7);
    expect(study.best()!.value).toBe(7);
    expect(audit.filter((a) => a.kind === 'trial-failed')).toHaveLength(4);
    expect(study.isDone()).toBe(true);
  });

  it('rejects unknown trials, double tells and values of the wrong arity', () => {
    const study = createStudy({ params: paramsOf(branin), objectives: MIN, budget: 5, seed: 1 });
    const t = study.ask();
    expect(() => study.tell('trial-99', 1)).toThrow(StudyStateError);
    expect(() => study.tell(t.trialId, [1, 2])).toThrow(/expected 1 value/);
    study.tell(t.trialId, 1);
    expect(() => study.tell(t.trialId, 1)).toThrow(/already told/);
  });
});

describe('bounded history', () => {
  it('keeps at most maxHistory completed trials, always including the best', () => {
    const study = createStudy({ params: paramsOf(sphere(2)), objectives: MIN, budget: 200, seed: 5, strategy: 'tpe', maxHistory: 40 });
    while (!study.isDone()) {
      const t = study.ask();
      study.tell(t.trialId, evaluateConfig(sphere(2), t.params));
    }
    const snap = study.snapshot();
    expect(snap.history).toHaveLength(40);
    expect(snap.history.some((h) => h.number === study.best()!.number)).toBe(true);
    // The most recent trial is kept too.
    expect(snap.history.some((h) => h.number === 199)).toBe(true);
  });
});

describe('guardrails', () => {
  it('clamps suggestions into the guardrail bounds and audits each clamp', () => {
    const study = createStudy({ params: paramsOf(branin), objectives: MIN, budget: 30, seed: 2, strategy: 'random', guardrails: { bounds: { x0: { low: 0, high: 2 } } } });
    for (let i = 0; i < 30; i++) {
      const t = study.ask();
      expect(t.params.x0 as number).toBeGreaterThanOrEqual(0);
      expect(t.params.x0 as number).toBeLessThanOrEqual(2);
      study.tell(t.trialId, evaluateConfig(branin, t.params));
    }
    const clamps = study.auditLog.filter((a) => a.kind === 'guardrail-bounds');
    expect(clamps.length).toBeGreaterThan(10);
    expect(clamps[0]!.detail.clamped).toHaveProperty('x0');
  });

  it('limits each change to maxStep (unit-cube units) from the best configuration', () => {
    const fn = sphere(2);
    const study = createStudy({ params: paramsOf(fn), objectives: MIN, budget: 40, seed: 2, strategy: 'random', guardrails: { maxStep: 0.05 } });
    let steps = 0;
    for (let i = 0; i < 40; i++) {
      const bestBefore = study.best();
      const t = study.ask();
      if (bestBefore) {
        for (const k of ['x0', 'x1']) expect(Math.abs((t.params[k] as number) - (bestBefore.params[k] as number)) / 10.24).toBeLessThanOrEqual(0.05 + 1e-9);
        steps++;
      }
      study.tell(t.trialId, evaluateConfig(fn, t.params));
    }
    expect(steps).toBe(39);
    expect(study.auditLog.filter((a) => a.kind === 'guardrail-step').length).toBeGreaterThan(0);
  });

  it('rolls back to the best configuration after N consecutive regressions, and audits it', () => {
    const study = createStudy({ params: paramsOf(branin), objectives: MIN, budget: 10, seed: 2, strategy: 'random', guardrails: { rollbackAfter: 3 } });
    const first = study.ask();
    study.tell(first.trialId, 1);
    for (let i = 0; i < 3; i++) {
      const t = study.ask();
      expect(t.strategy).toBe('random');
      study.tell(t.trialId, 5 + i);
    }
    const rollback = study.ask();
    expect(rollback.strategy).toBe('rollback');
    expect(rollback.params).toEqual(first.params);
    const record = study.auditLog.find((a) => a.kind === 'rollback')!;
    expect(record).toMatchObject({ trial: rollback.number, detail: { toTrial: first.number, after: 3 } });
    study.tell(rollback.trialId, 1);
    expect(study.ask().strategy).toBe('random');
  });
});

describe('audit trail of auto', () => {
  it('records the strategy, the landscape, and the phase change', () => {
    const study = optimise(branin, { strategy: 'auto', budget: 60 });
    const kinds = study.auditLog.map((a) => a.kind);
    expect(kinds[0]).toBe('strategy');
    const landscape = study.auditLog.find((a) => a.kind === 'landscape')!;
    expect(landscape.detail.landscape).toBe('STRUCTURED');
    expect(study.auditLog.find((a) => a.kind === 'phase')!.detail).toMatchObject({ from: 'probe', to: 'refine', refiner: 'nelder-mead' });
  });

  it('refines a STRUCTURED landscape in 3 or more dimensions with the trust region, and polishes a CHAOTIC one with it', () => {
    const smooth = optimise(sphere(4), { strategy: 'auto', budget: 80 });
    expect(smooth.auditLog.find((a) => a.kind === 'phase')!.detail).toMatchObject({ from: 'probe', to: 'refine', refiner: 'trust-region' });
    const rugged = rastrigin(5);
    const study = optimise(rugged, { strategy: 'auto', budget: 100, seed: 3 });
    expect(study.auditLog.find((a) => a.kind === 'landscape')!.detail.landscape).toBe('CHAOTIC');
    expect(study.auditLog.filter((a) => a.kind === 'phase').map((a) => a.detail)).toEqual([
      expect.objectContaining({ from: 'probe', to: 'refine', refiner: 'tpe' }),
      expect.objectContaining({ from: 'tpe', to: 'trust-region', reason: 'polish the best point' }),
    ]);
    // The polish takes the last 60% of the budget (auto.polishFraction).
    expect(study.auditLog.filter((a) => a.kind === 'phase')[1]!.trial).toBe(40);
  });

  it('hands over to TPE for a few trials each time the trust region collapses, and audits it', () => {
    // A region that collapses after two failed steps in a row.
    const study = optimise(rosenbrock(3), { strategy: 'auto', budget: 120, trustRegion: { initialRadius: 0.02, minRadius: 0.01, shrink: 0.5 } });
    const restarts = study.auditLog.filter((a) => a.kind === 'tr-restart');
    expect(restarts.length).toBeGreaterThan(0);
    expect(restarts[0]!.detail).toMatchObject({ reason: 'collapsed', restarts: 1, exploreTrials: 5 });
  });

  it('uses NSGA-II for several objectives', () => {
    const study = createStudy({ params: paramsOf(branin), objectives: [...MIN, { name: 'z', direction: 'MAXIMIZE' }], budget: 50, seed: 1, nsga2: { populationSize: 10 } });
    const strategies = new Set<string>();
    while (!study.isDone()) {
      const t = study.ask();
      strategies.add(t.strategy);
      study.tell(t.trialId, [evaluateConfig(branin, t.params), t.params.x0 as number]);
    }
    expect([...strategies].sort()).toEqual(['nsga2', 'sobol']);
    expect(study.best()).toBeNull();
    expect(study.paretoFront().length).toBeGreaterThan(1);
  });
});

describe('validation at creation', () => {
  const base: StudyOptions = { params: paramsOf(branin), objectives: MIN, budget: 10, seed: 1 };
  it.each([
    [{ budget: 0 }, /budget/],
    [{ seed: NaN }, /seed/],
    [{ strategy: 'bayes' as StrategyName }, /strategy: must be one of/],
    [{ parallelism: 0 }, /parallelism/],
    [{ maxHistory: 3 }, /maxHistory/],
    [{ objectives: [] }, /objectives/],
    [{ objectives: [{ name: 'a', direction: 'UP' as 'MINIMIZE' }] }, /direction/],
    [{ strategy: 'tpe' as StrategyName, objectives: [...MIN, { name: 'z', direction: 'MINIMIZE' as const }] }, /optimises one objective/],
    [{ guardrails: { bounds: { nope: { low: 0, high: 1 } } } }, /guardrails.bounds.nope: no such parameter/],
    [{ guardrails: { bounds: { x0: { low: -10, high: 1 } } } }, /guardrails.bounds.x0/],
    [{ guardrails: { maxStep: 0 } }, /maxStep/],
    [{ guardrails: { rollbackAfter: 0.5 } }, /rollbackAfter/],
    [{ auto: { structured: 'simplex' as 'tpe' } }, /auto.structured/],
    [{ auto: { local: 'tpe' as 'nelder-mead' } }, /auto.local/],
    [{ trustRegion: { minRadius: 0.2 } }, /minRadius <= initialRadius/],
    [{ trustRegion: { shrink: 1 } }, /shrink/],
    [{ trustRegion: { maxFitPoints: 2 } }, /maxFitPoints/],
    [{ params: [{ name: 'a', kind: 'FLOAT', low: 2, high: 1, log: false, choices: [] }] as ParamSpec[] }, /low \(2\) must not be above high \(1\)/],
  ] as Array<[Partial<StudyOptions>, RegExp]>)('rejects %o', (override, message) => {
    expect(() => createStudy({ ...base, ...override })).toThrow(InvalidStudyError);
    expect(() => createStudy({ ...base, ...override })).toThrow(message);
  });
});

describe('Optuna-compatible parameters through a study', () => {
  const typed: ParamSpec[] = [
    { name: 'lr', kind: 'FLOAT', low: 1e-5, high: 1, log: true },
    { name: 'batch', kind: 'CATEGORICAL', choices: [16, 32, 64, 128] },
    { name: 'augment', kind: 'CATEGORICAL', choices: [true, false] },
    { name: 'depth', kind: 'INT', low: 2, high: 12, step: 2 },
    { name: 'drop', kind: 'FLOAT', low: 0, high: 0.5, step: 0.1 },
    { name: 'opt', kind: 'CATEGORICAL', choices: ['sgd', 'adam'] },
  ];
  const loss = (p: Configuration) => Math.abs(Math.log10(p.lr as number) + 3) + (p.batch as number) / 128 + (p.augment ? 0 : 0.3) + Math.abs((p.depth as number) - 6) / 10 + (p.drop as number) + (p.opt === 'adam' ? 0 : 0.2);

  it.each(['auto', 'tpe', 'nelder-mead', 'sobol', 'random'] as StrategyName[])('%s: numeric and boolean choices are asked, told and restored with their own type', (strategy) => {
    let study = createStudy({ params: typed, objectives: MIN, budget: 60, seed: 4, strategy });
    for (let i = 0; i < 60; i++) {
      if (i === 30) study = restoreStudy(JSON.parse(JSON.stringify(study.snapshot())));
      const t = study.ask();
      expect([16, 32, 64, 128]).toContain(t.params.batch);
      expect(typeof t.params.augment).toBe('boolean');
      expect([2, 4, 6, 8, 10, 12]).toContain(t.params.depth);
      expect([0, 0.1, 0.2, 0.3, 0.4, 0.5].some((v) => Math.abs(v - (t.params.drop as number)) < 1e-12)).toBe(true);
      study.tell(t.trialId, loss(t.params));
    }
    expect(typeof study.best()!.params.batch).toBe('number');
  });

  it('fails in createStudy, with InvalidStudyError naming the parameter, never later and never as a TypeError', () => {
    const bad: unknown[] = [
      { name: 'lr', kind: 'FLOAT' },
      { name: 'lr', kind: 'FLOAT', low: null, high: null, log: false },
      { name: 'bs', kind: 'CATEGORICAL', choices: [16, 16] },
      { name: 'bs', kind: 'CATEGORICAL', choices: [{}] },
      { name: 'n', kind: 'INT', low: 1, high: 8, step: 0.5 },
      { name: 'x', kind: 'FLOAT', low: 1, high: 2, log: true, step: 0.1 },
    ];
    for (const spec of bad) {
      let error: unknown;
      try {
        createStudy({ params: [spec as ParamSpec], objectives: MIN, budget: 5, seed: 1 });
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(spec)).toBeInstanceOf(InvalidStudyError);
      expect((error as Error).message).toContain(`(${(spec as { name: string }).name})`);
    }
  });
});
