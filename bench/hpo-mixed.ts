/**
 * Mixed integer / categorical problems for the HPO quality bench, four of different kinds:
 *
 * - `lambdamart-table`: tabular, from this project's own model: held-out NDCG@10 of the
 *   advisor's LambdaMART over a grid of trees (INT, step 20), leaves (CATEGORICAL of numbers),
 *   learning rate (FLOAT, step 0.05), minimum rows per leaf (INT, step 5) and the feature set
 *   (CATEGORICAL of strings), precomputed by bench/hpo-lambdamart-table.ts. Minimised: 1 - NDCG@10.
 * - `train-surrogate`: the response surface of a neural network's training run, written from
 *   the usual rules of thumb: the best learning rate depends on the optimizer and grows with the
 *   batch size (linear scaling for SGD, square root for adaptive methods) and diverges past it;
 *   capacity (depth x log width) underfits when small and overfits unless dropout or
 *   augmentation hold it back; weight decay has an optimizer-specific sweet spot; large batches
 *   generalise worse. Log-scaled FLOATs, an INT, a log INT, a CATEGORICAL of numbers, of
 *   strings and of booleans. Deterministic, no noise.
 * - `mixint-ellipsoid-10d`: integer-heavy, in the manner of COCO's bbob-mixint suite: a rotated
 *   ellipsoid (condition 10^3) over 8 INT variables of 2, 4, 8 and 16 values (two each, spread
 *   over [-4, 4]) and 2 continuous ones. Non-separable: every coordinate moves the others' best.
 * - `cat-ackley-8d`: categorical-heavy, in the manner of CoCaBO's synthetic tests: Ackley over
 *   5 continuous variables whose optimum is shifted, and whose value is raised, by three
 *   5-way categorical choices: a sampler that freezes the choices refines the wrong basin.
 *
 * Each problem's values do not depend on the engine: Optuna's side queries these same
 * functions (bench/hpo-objective-server.ts), so both see the same numbers.
 */
import { readFileSync } from 'node:fs';
import type { Configuration, ParamSpec } from '../processors/hpo/space.ts';
import { LAMBDAMART_GRID, LAMBDAMART_TABLE_FILE, type LambdaMartTable } from './hpo-lambdamart-table.ts';

export interface MixedProblem {
  readonly name: string;
  readonly params: ParamSpec[];
  /** The known minimum, or null. */
  readonly minimum: number | null;
  /** Minimised. */
  readonly evaluate: (config: Configuration) => number;
}

/** A small deterministic generator for the problems' fixed data (mulberry32). */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// --- lambdamart-table ---

let table: LambdaMartTable | null = null;
function lambdaMartTable(): LambdaMartTable {
  table ??= JSON.parse(readFileSync(LAMBDAMART_TABLE_FILE, 'utf8')) as LambdaMartTable;
  return table;
}

/** The index of `value` on a grid axis (the nearest grid value: a FLOAT step comes back as 0.15000000000000002). */
function gridIndex(axis: readonly (number | string)[], value: unknown, name: string): number {
  if (typeof value === 'string') {
    const i = axis.indexOf(value);
    if (i < 0) throw new Error(`lambdamart-table: ${name} '${value}' is not on the grid`);
    return i;
  }
  let best = -1;
  for (let i = 0; i < axis.length; i++) if (best < 0 || Math.abs((axis[i] as number) - (value as number)) < Math.abs((axis[best] as number) - (value as number))) best = i;
  if (best < 0 || Math.abs((axis[best] as number) - (value as number)) > 1e-6 * Math.max(1, Math.abs(value as number))) throw new Error(`lambdamart-table: ${name} ${String(value)} is not on the grid`);
  return best;
}

export const lambdaMartTableProblem: MixedProblem = {
  name: 'lambdamart-table',
  params: [
    { name: 'trees', kind: 'INT', low: 20, high: 200, step: 20 },
    { name: 'leaves', kind: 'CATEGORICAL', choices: [...LAMBDAMART_GRID.leaves] },
    { name: 'learning_rate', kind: 'FLOAT', low: 0.05, high: 0.3, step: 0.05 },
    { name: 'min_data_in_leaf', kind: 'INT', low: 5, high: 40, step: 5 },
    { name: 'features', kind: 'CATEGORICAL', choices: [...LAMBDAMART_GRID.features] },
  ],
  /** The table's best cell. */
  get minimum() {
    return 1 - Math.max(...lambdaMartTable().ndcg10);
  },
  evaluate: (p) => {
    const g = LAMBDAMART_GRID;
    const t = lambdaMartTable();
    const index =
      (((gridIndex(g.features, p.features, 'features') * g.leaves.length + gridIndex(g.leaves, p.leaves, 'leaves')) * g.learningRate.length + gridIndex(g.learningRate, p.learning_rate, 'learning_rate')) *
        g.minDataInLeaf.length +
        gridIndex(g.minDataInLeaf, p.min_data_in_leaf, 'min_data_in_leaf')) *
        g.trees.length +
      gridIndex(g.trees, p.trees, 'trees');
    return 1 - (t.ndcg10[index] as number);
  },
};

// --- train-surrogate ---

const OPTIMIZERS = ['sgd', 'momentum', 'adam', 'adamw', 'rmsprop'] as const;
type Optimizer = (typeof OPTIMIZERS)[number];
/** log10 of the best learning rate at batch 64, its tolerance (in decades), the optimizer's own floor, its best log10 weight decay. */
const OPTIMIZER_TRAITS: Record<Optimizer, { lr: number; width: number; floor: number; wd: number; adaptive: boolean }> = {
  sgd: { lr: -0.8, width: 0.45, floor: 0.035, wd: -3.5, adaptive: false },
  momentum: { lr: -1.6, width: 0.55, floor: 0.012, wd: -3.5, adaptive: false },
  adam: { lr: -3.0, width: 0.9, floor: 0.008, wd: -5, adaptive: true },
  adamw: { lr: -2.7, width: 0.85, floor: 0, wd: -2, adaptive: true },
  rmsprop: { lr: -3.3, width: 0.65, floor: 0.02, wd: -4.5, adaptive: true },
};

export const trainSurrogateProblem: MixedProblem = {
  name: 'train-surrogate',
  params: [
    { name: 'lr', kind: 'FLOAT', low: 1e-5, high: 1, log: true },
    { name: 'batch_size', kind: 'CATEGORICAL', choices: [16, 32, 64, 128, 256, 512] },
    { name: 'depth', kind: 'INT', low: 1, high: 12 },
    { name: 'width', kind: 'INT', low: 16, high: 1024, log: true },
    { name: 'dropout', kind: 'FLOAT', low: 0, high: 0.8 },
    { name: 'optimizer', kind: 'CATEGORICAL', choices: [...OPTIMIZERS] },
    { name: 'augment', kind: 'CATEGORICAL', choices: [true, false] },
    { name: 'weight_decay', kind: 'FLOAT', low: 1e-6, high: 1e-1, log: true },
  ],
  minimum: null,
  evaluate: (p) => {
    const o = OPTIMIZER_TRAITS[p.optimizer as Optimizer];
    const batch = p.batch_size as number;
    const depth = p.depth as number;
    const dropout = p.dropout as number;
    const augment = p.augment === true;
    const lr = Math.log10(p.lr as number);
    // The learning rate: best one scales with the batch; past 1.2 decades above it, training diverges.
    const lrBest = o.lr + (o.adaptive ? 0.5 : 1) * Math.log10(batch / 64);
    const z = (lr - lrBest) / o.width;
    const lrTerm = 0.06 * z * z + (lr > lrBest + 1.2 ? 0.5 : 0);
    // Capacity: underfits when small, overfits unless regularised.
    const capacity = depth * Math.log2(p.width as number);
    const underfit = 0.3 * Math.exp(-capacity / 18);
    const overfit = 0.0015 * Math.max(0, capacity - 30) * Math.exp(-2.5 * (dropout + (augment ? 0.3 : 0)));
    const tooMuchDropout = 0.25 * Math.max(0, dropout - 0.45) ** 2 + 0.05 * dropout * Math.exp(-capacity / 30);
    const decay = Math.log10(p.weight_decay as number) - o.wd;
    const batchGap = (0.03 * Math.max(0, Math.log2(batch / 128)) ** 2) / 4;
    const deepSgd = p.optimizer === 'sgd' && depth > 8 ? 0.02 * (depth - 8) : 0;
    return 0.05 + o.floor + lrTerm + underfit + overfit + tooMuchDropout + 0.012 * decay * decay + batchGap + deepSgd + (augment ? 0 : 0.01);
  },
};

// --- mixint-ellipsoid-10d ---

const ARITIES = [2, 2, 4, 4, 8, 8, 16, 16, 0, 0]; // 0: continuous

/** A random rotation (Gram–Schmidt on Gaussian-ish rows from a fixed seed). */
function rotation(d: number, seed: number): number[][] {
  const next = generator(seed);
  const rows: number[][] = [];
  while (rows.length < d) {
    const v = Array.from({ length: d }, () => next() + next() + next() - 1.5);
    for (const r of rows) {
      const dot = v.reduce((s, x, k) => s + x * (r[k] as number), 0);
      for (let k = 0; k < d; k++) v[k] = (v[k] as number) - dot * (r[k] as number);
    }
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    if (norm > 1e-6) rows.push(v.map((x) => x / norm));
  }
  return rows;
}

const ELLIPSOID_ROTATION = rotation(10, 1001);
const ELLIPSOID_SHIFT = (() => {
  const next = generator(1002);
  return Array.from({ length: 10 }, () => -3 + 6 * next());
})();

export const mixintEllipsoidProblem: MixedProblem = {
  name: 'mixint-ellipsoid-10d',
  params: ARITIES.map((a, i): ParamSpec => (a > 0 ? { name: `k${i}`, kind: 'INT', low: 0, high: a - 1 } : { name: `x${i}`, kind: 'FLOAT', low: -4, high: 4 })),
  // By exhaustive search: every integer combination, the continuous pair minimised exactly.
  minimum: 187.2909,
  evaluate: (p) => {
    const x = ARITIES.map((a, i) => (a > 0 ? -4 + (8 * (p[`k${i}`] as number)) / (a - 1) : (p[`x${i}`] as number)));
    let s = 0;
    for (let r = 0; r < 10; r++) {
      let z = 0;
      for (let k = 0; k < 10; k++) z += (ELLIPSOID_ROTATION[r] as number[])[k]! * ((x[k] as number) - (ELLIPSOID_SHIFT[k] as number));
      s += 10 ** ((3 * r) / 9) * z * z;
    }
    return s;
  },
};

// --- cat-ackley-8d ---

const CHOICES = ['a', 'b', 'c', 'd', 'e'];
const ACKLEY_SHIFTS = (() => {
  const next = generator(2001);
  return [0, 1, 2].map(() => CHOICES.map(() => Array.from({ length: 5 }, () => -1.5 + 3 * next())));
})();
const ACKLEY_BIASES = [
  [1.6, 0, 3.2, 0.4, 0.8],
  [0.4, 3.2, 0.8, 1.6, 0],
  [0, 0.8, 1.6, 3.2, 0.4],
];

export const catAckleyProblem: MixedProblem = {
  name: 'cat-ackley-8d',
  params: [...Array.from({ length: 5 }, (_, i): ParamSpec => ({ name: `x${i}`, kind: 'FLOAT', low: -5, high: 5 })), ...[0, 1, 2].map((j): ParamSpec => ({ name: `c${j}`, kind: 'CATEGORICAL', choices: CHOICES }))],
  minimum: 0,
  evaluate: (p) => {
    const picks = [0, 1, 2].map((j) => CHOICES.indexOf(p[`c${j}`] as string));
    let bias = 0;
    const z = Array.from({ length: 5 }, (_, i) => p[`x${i}`] as number);
    picks.forEach((c, j) => {
      bias += (ACKLEY_BIASES[j] as number[])[c]!;
      const shift = (ACKLEY_SHIFTS[j] as number[][])[c]!;
      for (let i = 0; i < 5; i++) z[i] = (z[i] as number) - (shift[i] as number);
    });
    const sq = z.reduce((s, v) => s + v * v, 0) / 5;
    const cs = z.reduce((s, v) => s + Math.cos(2 * Math.PI * v), 0) / 5;
    return -20 * Math.exp(-0.2 * Math.sqrt(sq)) - Math.exp(cs) + 20 + Math.E + bias;
  },
};

export const MIXED_PROBLEMS: readonly MixedProblem[] = [lambdaMartTableProblem, trainSurrogateProblem, mixintEllipsoidProblem, catAckleyProblem];
