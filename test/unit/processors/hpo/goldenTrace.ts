/**
 * Golden ask traces: fixed scenarios (every strategy; float, log, int and categorical
 * parameters; parallelism; failures; eviction; snapshot round-trips) whose full sequence of
 * asks is stored in __golden__/asks.json. Performance work on the engine must leave every ask
 * bit-for-bit identical; golden.test.ts replays the scenarios and compares.
 *
 * Regenerate (only when a change of the asks is intended): `npx tsx test/unit/processors/hpo/goldenTrace.ts`.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStudy, restoreStudy, type StrategyName, type Study, type StudyOptions, type StudySnapshot } from '../../../../processors/hpo/index.ts';
import type { Configuration, ParamSpec } from '../../../../processors/hpo/space.ts';

export const GOLDEN_FILE = join(dirname(fileURLToPath(import.meta.url)), '__golden__', 'asks.json');

export interface GoldenAsk {
  readonly number: number;
  readonly strategy: string;
  readonly params: Configuration;
}

interface Scenario {
  readonly name: string;
  readonly options: StudyOptions;
  /** Rugged objective (so that 'auto' classifies CHAOTIC and runs TPE). */
  readonly rugged?: boolean;
  /** Snapshot, JSON round-trip and restore before these asks (by index). */
  readonly restoreAt?: readonly number[];
  /** Start from a Sobol history of this many trials (restored under `options.strategy`), like the latency bench. */
  readonly sobolHistory?: number;
}

const MIN = [{ name: 'y', direction: 'MINIMIZE' as const }];
const TWO = [
  { name: 'a', direction: 'MINIMIZE' as const },
  { name: 'b', direction: 'MAXIMIZE' as const },
];

function mixedParams(extraFloats: number): ParamSpec[] {
  const p: ParamSpec[] = [
    { name: 'lr', kind: 'FLOAT', low: 1e-5, high: 1, log: true, choices: [] },
    { name: 'depth', kind: 'INT', low: 1, high: 12, log: false, choices: [] },
    { name: 'opt', kind: 'CATEGORICAL', low: null, high: null, log: false, choices: ['sgd', 'adam', 'rmsprop'] },
    { name: 'width', kind: 'INT', low: 8, high: 1024, log: true, choices: [] },
    { name: 'drop', kind: 'FLOAT', low: 0, high: 0.9, log: false, choices: [] },
  ];
  for (let i = 0; i < extraFloats; i++) p.push({ name: `x${i}`, kind: 'FLOAT', low: -3, high: 5, log: false, choices: [] });
  return p;
}

function floatParams(d: number): ParamSpec[] {
  return Array.from({ length: d }, (_, i) => ({ name: `u${i}`, kind: 'FLOAT' as const, low: 0, high: 1, log: false, choices: [] }));
}

/** Optuna-style parameters: typed choices (numbers, booleans), steps on INT and FLOAT, a log INT. */
const typedParams: ParamSpec[] = [
  { name: 'lr', kind: 'FLOAT', low: 1e-5, high: 1, log: true },
  { name: 'batch', kind: 'CATEGORICAL', choices: [16, 32, 64, 128] },
  { name: 'augment', kind: 'CATEGORICAL', choices: [true, false] },
  { name: 'trees', kind: 'INT', low: 20, high: 200, step: 20 },
  { name: 'rate', kind: 'FLOAT', low: 0.05, high: 0.3, step: 0.05 },
  { name: 'width', kind: 'INT', low: 16, high: 1024, log: true },
  { name: 'opt', kind: 'CATEGORICAL', choices: ['sgd', 'adam', 'lion'] },
  { name: 'x', kind: 'FLOAT', low: -3, high: 5 },
];

const categoricalOnly: ParamSpec[] = [
  { name: 'a', kind: 'CATEGORICAL', low: null, high: null, log: false, choices: ['p', 'q', 'r', 's'] },
  { name: 'b', kind: 'CATEGORICAL', low: null, high: null, log: false, choices: ['x', 'y'] },
  { name: 'c', kind: 'CATEGORICAL', low: null, high: null, log: false, choices: ['1', '2', '3', '4', '5', '6', '7'] },
];

/** A deterministic objective over any configuration: smooth, or rugged when asked. */
function objective(params: Configuration, specs: readonly ParamSpec[], rugged: boolean): number {
  let s = 0;
  specs.forEach((spec, k) => {
    const v = params[spec.name];
    let u: number;
    if (spec.kind === 'CATEGORICAL') u = (spec.choices!.findIndex((c) => c === v) + 0.5) / spec.choices!.length;
    else if (spec.log) u = Math.log((v as number) / (spec.low as number)) / Math.log((spec.high as number) / (spec.low as number));
    else u = ((v as number) - (spec.low as number)) / ((spec.high as number) - (spec.low as number));
    const c = u - 0.2 - 0.05 * (k % 5);
    s += rugged ? c * c * 10 - Math.cos(2 * Math.PI * 7 * c) : c * c * (1 + k);
  });
  return s;
}

export const SCENARIOS: readonly Scenario[] = [
  ...(['tpe', 'auto', 'nelder-mead', 'sobol', 'random'] as const).flatMap((strategy): Scenario[] => [
    { name: `${strategy}-mixed5-s3`, options: { params: mixedParams(0), objectives: MIN, budget: 70, seed: 3, strategy } },
    { name: `${strategy}-mixed9-rugged-par2-s11`, options: { params: mixedParams(4), objectives: MIN, budget: 120, seed: 11, strategy, parallelism: 2, maxHistory: 40 }, rugged: true, restoreAt: [37, 81] },
  ]),
  { name: 'nsga2-mixed6-2obj-s5', options: { params: mixedParams(1), objectives: TWO, budget: 90, seed: 5, strategy: 'nsga2', nsga2: { populationSize: 12 } }, restoreAt: [40] },
  { name: 'nsga2-float3-2obj-par2-s8', options: { params: floatParams(3), objectives: TWO, budget: 80, seed: 8, strategy: 'nsga2', parallelism: 2, maxHistory: 20 } },
  { name: 'auto-float4-2obj-s2', options: { params: floatParams(4), objectives: TWO, budget: 60, seed: 2, strategy: 'auto' } },
  { name: 'auto-float6-rugged-s4', options: { params: floatParams(6), objectives: MIN, budget: 160, seed: 4, strategy: 'auto' }, rugged: true },
  { name: 'auto-float2-rugged-s5', options: { params: floatParams(2), objectives: MIN, budget: 80, seed: 5, strategy: 'auto' }, rugged: true, restoreAt: [50] },
  { name: 'auto-float3-rugged-par2-guardrails-s9', options: { params: floatParams(3), objectives: MIN, budget: 120, seed: 9, strategy: 'auto', parallelism: 2, guardrails: { maxStep: 0.4, rollbackAfter: 6, bounds: { u1: { low: 0.1, high: 0.8 } } } }, rugged: true },
  { name: 'tpe-float2-s1', options: { params: floatParams(2), objectives: MIN, budget: 150, seed: 1, strategy: 'tpe' } },
  { name: 'tpe-float12-par3-evict-s6', options: { params: floatParams(12), objectives: MIN, budget: 200, seed: 6, strategy: 'tpe', parallelism: 3, maxHistory: 60 }, rugged: true, restoreAt: [100] },
  { name: 'tpe-categorical-s7', options: { params: categoricalOnly, objectives: MIN, budget: 80, seed: 7, strategy: 'tpe' } },
  { name: 'tpe-mixed7-scott-s12', options: { params: mixedParams(2), objectives: MIN, budget: 90, seed: 12, strategy: 'tpe', tpe: { bandwidth: 'scott', candidates: 24, gamma: 0.25, priorWeight: 0.5 } } },
  { name: 'tpe-float10-sobol1000-s1', options: { params: floatParams(10), objectives: MIN, budget: 1040, seed: 1, strategy: 'tpe' }, sobolHistory: 1000 },
  { name: 'tpe-typed8-s13', options: { params: typedParams, objectives: MIN, budget: 90, seed: 13, strategy: 'tpe' }, restoreAt: [45] },
  { name: 'auto-typed8-rugged-s13', options: { params: typedParams, objectives: MIN, budget: 150, seed: 13, strategy: 'auto' }, rugged: true, restoreAt: [70] },
  { name: 'auto-float3-restarts-s14', options: { params: floatParams(3), objectives: MIN, budget: 250, seed: 14, strategy: 'auto', trustRegion: { initialRadius: 0.05, minRadius: 0.01, shrink: 0.5 } }, rugged: true, restoreAt: [120] },
  { name: 'tpe-float3-sobol300-par2-s2', options: { params: floatParams(3), objectives: MIN, budget: 360, seed: 2, strategy: 'tpe', parallelism: 2, maxHistory: 250 }, sobolHistory: 300, rugged: true },
];

function roundTrip(study: Study): Study {
  return restoreStudy(JSON.parse(JSON.stringify(study.snapshot())) as StudySnapshot);
}

/** Runs one scenario to the end of its budget; returns every ask (after the Sobol history, if any). */
export function runScenario(scenario: Scenario): GoldenAsk[] {
  const specs = scenario.options.params;
  const multi = scenario.options.objectives.length > 1;
  const value = (t: { number: number; params: Configuration }): number | number[] | null => {
    if (t.number % 13 === 7) return null; // a failed trial now and then
    const y = objective(t.params, specs, scenario.rugged ?? false);
    return multi ? [y, objective(t.params, specs, !(scenario.rugged ?? false)) + 0.1 * (t.number % 3)] : y;
  };
  let study: Study;
  if (scenario.sobolHistory) {
    const filler = createStudy({ ...scenario.options, strategy: 'sobol', parallelism: 1 });
    for (let i = 0; i < scenario.sobolHistory; i++) {
      const t = filler.ask();
      filler.tell(t.trialId, value(t));
    }
    const snapshot = filler.snapshot();
    snapshot.options.strategy = scenario.options.strategy as StrategyName;
    snapshot.options.parallelism = scenario.options.parallelism ?? 1;
    study = restoreStudy(snapshot);
  } else {
    study = createStudy(scenario.options);
  }
  const asks: GoldenAsk[] = [];
  let index = 0;
  while (!study.isDone()) {
    if (study.canAsk()) {
      if (scenario.restoreAt?.includes(index)) study = roundTrip(study);
      const t = study.ask();
      asks.push({ number: t.number, strategy: t.strategy, params: t.params });
      index++;
      // With parallelism, keep the slots full before telling anything.
      if (study.canAsk()) continue;
    }
    const pending = study.pending();
    // Mostly the oldest result arrives first; every third time the newest does.
    const next = index % 3 === 0 ? pending[pending.length - 1]! : pending[0]!;
    study.tell(next.trialId, value(next));
  }
  return asks;
}

export function runAll(): Record<string, GoldenAsk[]> {
  const out: Record<string, GoldenAsk[]> = {};
  for (const s of SCENARIOS) out[s.name] = runScenario(s);
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const traces = runAll();
  writeFileSync(GOLDEN_FILE, JSON.stringify(traces) + '\n');
  for (const [name, asks] of Object.entries(traces)) {
    const counts: Record<string, number> = {};
    for (const a of asks) counts[a.strategy] = (counts[a.strategy] ?? 0) + 1;
    console.log(name, JSON.stringify(counts));
  }
}
