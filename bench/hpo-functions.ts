/**
 * Test functions for the HPO engine (unit tests and benchmarks), on their usual domains:
 * smooth ones (sphere, Rosenbrock, Branin, Hartmann-6) and rugged ones (Rastrigin, Ackley).
 * Definitions from Surjanovic & Bingham's Virtual Library of Simulation Experiments.
 */
import type { Configuration, ParamSpec } from '../processors/hpo/space.ts';
import { MIXED_PROBLEMS } from './hpo-mixed.ts';

export interface TestFunction {
  readonly name: string;
  readonly dimension: number;
  readonly bounds: ReadonlyArray<readonly [number, number]>;
  readonly minimum: number;
  readonly evaluate: (x: readonly number[]) => number;
}

const repeat = (d: number, lo: number, hi: number) => Array.from({ length: d }, () => [lo, hi] as const);

export function sphere(d: number): TestFunction {
  return { name: `sphere-${d}d`, dimension: d, bounds: repeat(d, -5.12, 5.12), minimum: 0, evaluate: (x) => x.reduce((s, v) => s + v * v, 0) };
}

export function rosenbrock(d: number): TestFunction {
  return {
    name: `rosenbrock-${d}d`,
    dimension: d,
    bounds: repeat(d, -2.048, 2.048),
    minimum: 0,
    evaluate: (x) => {
      let s = 0;
      for (let i = 0; i < d - 1; i++) s += 100 * ((x[i + 1] as number) - (x[i] as number) ** 2) ** 2 + (1 - (x[i] as number)) ** 2;
      return s;
    },
  };
}

export function rastrigin(d: number): TestFunction {
  return { name: `rastrigin-${d}d`, dimension: d, bounds: repeat(d, -5.12, 5.12), minimum: 0, evaluate: (x) => 10 * d + x.reduce((s, v) => s + v * v - 10 * Math.cos(2 * Math.PI * v), 0) };
}

export function ackley(d: number): TestFunction {
  return {
    name: `ackley-${d}d`,
    dimension: d,
    bounds: repeat(d, -32.768, 32.768),
    minimum: 0,
    evaluate: (x) => {
      const sq = x.reduce((s, v) => s + v * v, 0) / d;
      const cs = x.reduce((s, v) => s + Math.cos(2 * Math.PI * v), 0) / d;
      return -20 * Math.exp(-0.2 * Math.sqrt(sq)) - Math.exp(cs) + 20 + Math.E;
    },
  };
}

export const branin: TestFunction = {
  name: 'branin-2d',
  dimension: 2,
  bounds: [
    [-5, 10],
    [0, 15],
  ],
  minimum: 0.397887,
  evaluate: ([x1 = 0, x2 = 0]) => {
    const b = 5.1 / (4 * Math.PI ** 2);
    const c = 5 / Math.PI;
    return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10;
  },
};

const H6_ALPHA = [1.0, 1.2, 3.0, 3.2];
const H6_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const H6_P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
];

export const hartmann6: TestFunction = {
  name: 'hartmann6-6d',
  dimension: 6,
  bounds: repeat(6, 0, 1),
  minimum: -3.32237,
  evaluate: (x) => {
    let s = 0;
    for (let i = 0; i < 4; i++) {
      let inner = 0;
      for (let j = 0; j < 6; j++) inner += (H6_A[i] as number[])[j]! * ((x[j] as number) - (H6_P[i] as number[])[j]! * 1e-4) ** 2;
      s += (H6_ALPHA[i] as number) * Math.exp(-inner);
    }
    return -s;
  },
};

/** The function's box as FLOAT parameters x0..x{d-1}. */
export function paramsOf(fn: TestFunction): ParamSpec[] {
  return fn.bounds.map(([low, high], i) => ({ name: `x${i}`, kind: 'FLOAT', low, high, log: false, choices: [] }));
}

/** The function at a configuration of paramsOf(fn). */
export function evaluateConfig(fn: TestFunction, params: Configuration): number {
  return fn.evaluate(fn.bounds.map((_, i) => Number(params[`x${i}`])));
}

/** A problem of the quality comparison against Optuna: a search space and a minimised objective. */
export interface QualityProblem {
  readonly name: string;
  readonly kind: 'continuous' | 'mixed';
  readonly params: ParamSpec[];
  /** The known minimum, or null. */
  readonly minimum: number | null;
  readonly evaluate: (config: Configuration) => number;
}

function continuous(fn: TestFunction): QualityProblem {
  return { name: fn.name, kind: 'continuous', params: paramsOf(fn), minimum: fn.minimum, evaluate: (c) => evaluateConfig(fn, c) };
}

/** The problems of the quality comparison against Optuna: continuous test functions, then the mixed problems of hpo-mixed.ts. */
export const QUALITY_PROBLEMS: readonly QualityProblem[] = [
  continuous(branin),
  continuous(hartmann6),
  ...[2, 5, 10].map((d) => continuous(rosenbrock(d))),
  ...[2, 5, 10].map((d) => continuous(rastrigin(d))),
  ...[2, 5, 10].map((d) => continuous(ackley(d))),
  ...MIXED_PROBLEMS.map((m): QualityProblem => ({ ...m, kind: 'mixed' })),
];
