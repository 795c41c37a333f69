/**
 * The tabular benchmark of bench/hpo-quality.ts: held-out NDCG@10 of this project's own
 * LambdaMART (processors/advisor/ltr/lambdaMart.ts) on the ranking data of
 * simulate/rankingData.ts, over a full grid of five hyperparameters:
 *
 * - trees: 20, 40, ..., 200 (an INT with step 20; every model is trained once with 200 trees
 *   and scored after each 20, which is what a model with fewer trees would be);
 * - leaves: 3, 7, 15, 31, 63 (a CATEGORICAL of numbers, the way Optuna users write such grids);
 * - learning rate: 0.05, 0.10, ..., 0.30 (a FLOAT with step 0.05);
 * - minimum rows per leaf: 5, 10, ..., 40 (an INT with step 5);
 * - feature set: 'all', 'cost', 'hardware', 'no-price' (a CATEGORICAL of strings).
 *
 * 9,600 cells from 960 trainings. The training set is small (60 queries) so that capacity and
 * regularisation matter; 200 held-out queries score it. Both engines of the quality bench
 * query this table (by grid index), so neither pays for training and both see the same values.
 *
 * Regenerate (about 15 minutes of one core): `npx tsx bench/hpo-lambdamart-table.ts`. The
 * committed table was built from main at b461579 (the advisor's features, ranking data and
 * LambdaMART as they were there); later changes to those give another table, and then the
 * Optuna cache's lambdamart-table runs must be refreshed too (`bench/hpo-optuna.ts`).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FEATURE_INDEX, FEATURE_NAMES, type FeatureName } from '../processors/advisor/features.ts';
import { predictTree, trainLambdaMart } from '../processors/advisor/ltr/lambdaMart.ts';
import { ndcgAt } from '../processors/advisor/ltr/metrics.ts';
import { ltrQueries, type LtrQuery } from '../simulate/rankingData.ts';

export const LAMBDAMART_TABLE_FILE = join(dirname(fileURLToPath(import.meta.url)), 'hpo-lambdamart-table.json');

const PRICE: FeatureName[] = ['on_demand_usd_per_hour', 'spot_usd_per_hour', 'spot_discount', 'usd_per_gpu_hour', 'estimated_cost_usd', 'idle_cost_usd', 'speed_per_usd'];

/** The feature sets of the categorical choice, by name. */
export const FEATURE_SETS: Readonly<Record<string, readonly FeatureName[]>> = {
  all: FEATURE_NAMES,
  cost: ['on_demand_usd_per_hour', 'spot_usd_per_hour', 'usd_per_gpu_hour', 'estimated_hours', 'estimated_cost_usd', 'idle_cost_usd', 'speed_per_usd', 'gpu_memory_headroom', 'gpu_count', 'framework_is_tree', 'gpu_fits'],
  hardware: ['gpu_count', 'gpu_memory_per_gpu_gb', 'gpu_memory_headroom', 'gpus_used', 'idle_gpus', 'idle_gpu_share', 'nodes', 'per_gpu_speed', 'scaling_efficiency', 'job_speed', 'vcpus', 'memory_gb', 'gpu_fits', 'framework_code', 'framework_is_tree', 'framework_is_llm_stack'],
  'no-price': FEATURE_NAMES.filter((f) => !PRICE.includes(f)),
};

/** The grid, axis by axis, in the table's order (the last axis varies fastest). */
export const LAMBDAMART_GRID = {
  features: Object.keys(FEATURE_SETS),
  leaves: [3, 7, 15, 31, 63],
  learningRate: [0.05, 0.1, 0.15, 0.2, 0.25, 0.3],
  minDataInLeaf: [5, 10, 15, 20, 25, 30, 35, 40],
  trees: [20, 40, 60, 80, 100, 120, 140, 160, 180, 200],
} as const;

export interface LambdaMartTable {
  readonly description: string;
  readonly grid: typeof LAMBDAMART_GRID;
  readonly data: { readonly trainQueries: number; readonly trainSeed: number; readonly heldOutQueries: number; readonly heldOutSeed: number };
  /** Held-out mean NDCG@10, rounded to 6 decimals, row-major over the grid's axes in order. */
  readonly ndcg10: readonly number[];
}

const TRAIN = { queries: 60, seed: 31 };
const HELD_OUT = { queries: 200, seed: 32 };

function project(rows: readonly Float64Array[], names: readonly FeatureName[]): Float64Array[] {
  const index = names.map((n) => FEATURE_INDEX[n]);
  return rows.map((r) => Float64Array.from(index, (i) => r[i] as number));
}

function build(): LambdaMartTable {
  const train = ltrQueries(TRAIN.queries, TRAIN.seed);
  const test = ltrQueries(HELD_OUT.queries, HELD_OUT.seed);
  const g = LAMBDAMART_GRID;
  const out: number[] = [];
  const started = Date.now();
  let done = 0;
  const total = g.features.length * g.leaves.length * g.learningRate.length * g.minDataInLeaf.length;
  for (const set of g.features) {
    const names = FEATURE_SETS[set] as readonly FeatureName[];
    const x = project(
      train.flatMap((q) => q.features),
      names,
    );
    const testRows = test.map((q: LtrQuery) => project(q.features, names));
    for (const leaves of g.leaves) {
      for (const learningRate of g.learningRate) {
        for (const minDataInLeaf of g.minDataInLeaf) {
          const maxTrees = g.trees[g.trees.length - 1] as number;
          const model = trainLambdaMart(
            { x, labels: train.flatMap((q) => q.labels), queries: train.flatMap((q) => q.features.map(() => q.id)) },
            { trees: maxTrees, leaves, learningRate, minDataInLeaf },
          );
          // Scores after each tree; NDCG read at each grid point of `trees`.
          const scores = testRows.map((rows) => new Float64Array(rows.length));
          for (let t = 0; t < maxTrees; t++) {
            const tree = model.trees[t]!;
            testRows.forEach((rows, qi) => rows.forEach((r, i) => (scores[qi]![i] = scores[qi]![i]! + learningRate * predictTree(tree, r))));
            if (!(g.trees as readonly number[]).includes(t + 1)) continue;
            let sum = 0;
            test.forEach((q, qi) => (sum += ndcgAt(10, Array.from(scores[qi]!), q.labels)));
            out.push(Math.round((sum / test.length) * 1e6) / 1e6);
          }
          done++;
          if (done % 20 === 0) console.error(`${done}/${total} trainings, ${((Date.now() - started) / 1000).toFixed(0)} s`);
        }
      }
    }
  }
  return {
    description: 'Held-out mean NDCG@10 of processors/advisor/ltr LambdaMART on simulate/rankingData.ts queries; see bench/hpo-lambdamart-table.ts',
    grid: g,
    data: { trainQueries: TRAIN.queries, trainSeed: TRAIN.seed, heldOutQueries: HELD_OUT.queries, heldOutSeed: HELD_OUT.seed },
    ndcg10: out,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const table = build();
  writeFileSync(LAMBDAMART_TABLE_FILE, JSON.stringify(table) + '\n');
  const v = table.ndcg10;
  console.log(`wrote ${v.length} cells to ${LAMBDAMART_TABLE_FILE}; NDCG@10 from ${Math.min(...v)} to ${Math.max(...v)}`);
}
