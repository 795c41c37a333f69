/**
 * The contract every strategy's sampler keeps, run against each one registered in
 * samplers/index.ts (a new strategy gets these tests by being registered):
 * - every proposal is a valid configuration of a mixed space (grid values, typed choices);
 * - the same seed and calls give the same asks; another seed gives others;
 * - a snapshot taken mid-run with trials pending, through JSON, restores to the same next asks;
 * - failed trials (null, NaN) and rollbacks (trials it did not propose) do not derail it;
 * - a study's history can be handed to it by switching strategy on restore.
 */
import { describe, expect, it } from 'vitest';
import { type Configuration, createStudy, type ParamSpec, restoreStudy, type StrategyName, STRATEGIES, type Study, type StudyOptions } from '../../../../processors/hpo/index.ts';

const PARAMS: ParamSpec[] = [
  { name: 'lr', kind: 'FLOAT', low: 1e-4, high: 1, log: true },
  { name: 'layers', kind: 'INT', low: 1, high: 6 },
  { name: 'trees', kind: 'INT', low: 20, high: 200, step: 20 },
  { name: 'rate', kind: 'FLOAT', low: 0.05, high: 0.3, step: 0.05 },
  { name: 'batch', kind: 'CATEGORICAL', choices: [16, 32, 64] },
  { name: 'opt', kind: 'CATEGORICAL', choices: ['sgd', 'adam', 'lion'] },
  { name: 'augment', kind: 'CATEGORICAL', choices: [true, false] },
  { name: 'x', kind: 'FLOAT', low: -2, high: 2 },
];

function loss(p: Configuration): number {
  return (
    (Math.log10(p.lr as number) + 2) ** 2 +
    0.1 * ((p.layers as number) - 4) ** 2 +
    ((p.trees as number) - 120) ** 2 / 1e4 +
    ((p.rate as number) - 0.15) ** 2 * 10 +
    (p.batch === 32 ? 0 : 0.3) +
    (p.opt === 'adam' ? 0 : 0.5) +
    (p.augment ? 0 : 0.2) +
    ((p.x as number) - 0.7) ** 2
  );
}

function expectValid(p: Configuration): void {
  expect(p.lr as number).toBeGreaterThanOrEqual(1e-4);
  expect(p.lr as number).toBeLessThanOrEqual(1);
  expect([1, 2, 3, 4, 5, 6]).toContain(p.layers);
  expect([20, 40, 60, 80, 100, 120, 140, 160, 180, 200]).toContain(p.trees);
  expect([0.05, 0.1, 0.15, 0.2, 0.25, 0.3].some((v) => Math.abs(v - (p.rate as number)) < 1e-12)).toBe(true);
  expect([16, 32, 64]).toContain(p.batch);
  expect(['sgd', 'adam', 'lion']).toContain(p.opt);
  expect([true, false]).toContain(p.augment);
  expect(Math.abs(p.x as number)).toBeLessThanOrEqual(2);
}

const strategies = Object.keys(STRATEGIES) as StrategyName[];
// NSGA-II is driven with two objectives (what it is for); every other strategy with one.
const objectivesFor = (s: StrategyName): StudyOptions['objectives'] => (s === 'nsga2' ? [{ name: 'y', direction: 'MINIMIZE' }, { name: 'size', direction: 'MINIMIZE' }] : [{ name: 'y', direction: 'MINIMIZE' }]);
const valueFor = (s: StrategyName, t: { number: number; params: Configuration }) => {
  const multi = objectivesFor(s).length > 1;
  if (t.number % 11 === 6) return t.number % 2 ? null : multi ? [NaN, 1] : NaN; // failures now and then
  return multi ? [loss(t.params), t.params.layers as number] : loss(t.params);
};

/** Runs `steps` tells with up to `parallelism` trials pending, oldest told first; returns the asks. */
function drive(study: Study, strategy: StrategyName, steps: number): string[] {
  const asks: string[] = [];
  for (let i = 0; i < steps && !study.isDone(); i++) {
    while (study.canAsk()) {
      const t = study.ask();
      expectValid(t.params);
      asks.push(JSON.stringify([t.number, t.strategy, t.params]));
    }
    const oldest = study.pending()[0]!;
    study.tell(oldest.trialId, valueFor(strategy, oldest));
  }
  return asks;
}

describe.each(strategies)('sampler contract: %s', (strategy) => {
  const options = (seed: number): StudyOptions => ({ params: PARAMS, objectives: objectivesFor(strategy), budget: 90, seed, strategy, parallelism: 3, nsga2: { populationSize: 8 } });

  it('proposes valid configurations of a mixed space, deterministically from its seed', () => {
    const a = drive(createStudy(options(5)), strategy, 200);
    const b = drive(createStudy(options(5)), strategy, 200);
    expect(a).toHaveLength(90);
    expect(b).toEqual(a);
    expect(drive(createStudy(options(6)), strategy, 200)).not.toEqual(a);
  });

  it('restores from a JSON snapshot taken with trials pending and asks the same next points', () => {
    const original = createStudy(options(8));
    drive(original, strategy, 40);
    expect(original.pending().length).toBeGreaterThan(0);
    const restored = restoreStudy(JSON.parse(JSON.stringify(original.snapshot())));
    expect(drive(restored, strategy, 200)).toEqual(drive(original, strategy, 200));
    expect(restored.snapshot()).toEqual(original.snapshot());
  });

  it('goes on after rollbacks, which it did not propose', () => {
    const study = createStudy({ ...options(9), parallelism: 1, guardrails: { rollbackAfter: 2 } });
    drive(study, strategy, 200);
    expect(study.isDone()).toBe(true);
    // Rollback follows regressions of the best value: one objective only.
    if (objectivesFor(strategy).length === 1) expect(study.auditLog.some((a) => a.kind === 'rollback')).toBe(true);
  });

  it('takes over the history of a study that switches to it', () => {
    if (objectivesFor(strategy).length !== 1) return; // the history below has one value per trial
    const before = createStudy({ ...options(3), strategy: 'random' });
    drive(before, 'random', 30);
    const snapshot = before.snapshot();
    snapshot.options.strategy = strategy;
    const switched = restoreStudy(snapshot);
    expect(switched.asked()).toBe(before.asked());
    drive(switched, strategy, 200);
    expect(switched.isDone()).toBe(true);
    expect(switched.best()!.value).toBeLessThanOrEqual(before.best()!.value);
  });
});
