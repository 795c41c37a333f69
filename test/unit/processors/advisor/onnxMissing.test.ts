/**
 * Learned missing-value directions survive the ONNX export: onnxruntime routes every row
 * through every tree to the very leaf the trees as trained, and as read back from the same
 * bytes, reach. Each tree is given an output of its own, so a leaf weight comes back alone and the
 * comparison is exact, not within a float32 rounding of a sum.
 */
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { marketplace } from '../../../../bench/ltr-data/marketplace.ts';
import { trainingSet } from '../../../../bench/ltr-data/dataset.ts';
import { flattenEnsemble, scoreRows } from '../../../../processors/advisor/ltr/flatEnsemble.ts';
import { predictTree, trainLambdaMart, type LambdaMartModel } from '../../../../processors/advisor/ltr/lambdaMart.ts';
import { toOnnx } from '../../../../processors/advisor/ltr/onnxExport.ts';
import { fromOnnx } from '../../../../processors/advisor/ltr/onnxImport.ts';
import { OnnxScorer } from '../../../../processors/advisor/ltr/onnxScorer.ts';
import { scoreRow } from '../../../../processors/advisor/ltr/training.ts';
import { Random } from '../../../../simulate/random.ts';

const { onnx } = onnxProto;

/** The same model with one output per tree: target i of tree i. */
function perTreeOutputs(bytes: Uint8Array, trees: number): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const node = model.graph!.node![0]!;
  const attr = (name: string) => node.attribute!.find((a) => a.name === name)!;
  attr('target_ids').ints = attr('target_treeids').ints;
  attr('n_targets').i = trees;
  model.graph!.output![0]!.type!.tensorType!.shape!.dim![1] = { dimValue: trees };
  return onnx.ModelProto.encode(model).finish();
}

/** Missing values that rank like a middle value: the learner isolates them (every value left, missing right). */
function middleMissing(): { x: Float64Array[]; labels: number[]; queries: string[] } {
  const rng = new Random(9);
  const x: Float64Array[] = [];
  const labels: number[] = [];
  const queries: string[] = [];
  for (let q = 0; q < 120; q++)
    for (let i = 0; i < 10; i++) {
      const missing = rng.chance(0.3);
      const v = rng.next();
      x.push(Float64Array.from([missing ? Number.NaN : v, rng.normal(), rng.chance(0.2) ? Number.NaN : rng.next()]));
      labels.push(Math.round(4 * (missing ? 0.5 : v)));
      queries.push(`q${q}`);
    }
  return { x, labels, queries };
}

describe('ONNX export of learned missing-value directions', () => {
  it('routes every row, missing values included, to the same leaf in onnxruntime and in process', async () => {
    const cases: Array<{ model: LambdaMartModel; rows: Float64Array[] }> = [];
    const market = marketplace.queries(120, 31);
    cases.push({ model: trainLambdaMart(trainingSet(market), { trees: 25, leaves: 15 }), rows: marketplace.queries(40, 32).flatMap((q) => q.features) });
    const middle = middleMissing();
    cases.push({ model: trainLambdaMart(middle, { trees: 10, leaves: 7 }), rows: middle.x.slice(0, 400) });
    let missingRight = 0;
    let everyValueLeft = 0;
    for (const { model, rows } of cases) {
      for (const t of model.trees)
        t.feature.forEach((f, n) => {
          if (f >= 0 && t.missingLeft?.[n] === false) missingRight++;
          if (f >= 0 && t.threshold[n] === Number.POSITIVE_INFINITY) everyValueLeft++;
        });
      const bytes = toOnnx(model, { version: 'm', trainedAt: '2026-01-01T00:00:00.000Z', samples: 1, queries: 1, featureNames: [] });
      const back = fromOnnx(bytes).model;
      const trees = model.trees.length;
      const scorer = await OnnxScorer.load(perTreeOutputs(bytes, trees), model.featureCount);
      const leaves = await scorer.score(rows);
      await scorer.close();
      let compared = 0;
      let differ = 0;
      rows.forEach((row, i) => {
        const f32 = Float32Array.from(row);
        for (let t = 0; t < trees; t++) {
          compared++;
          const leaf = leaves[i * trees + t];
          // The model read back from the bytes, and the model as trained (its leaf weight as ONNX stores it).
          if (leaf !== predictTree(back.trees[t]!, f32) || leaf !== Math.fround(predictTree(model.trees[t]!, f32) * model.learningRate)) differ++;
        }
      });
      expect(compared).toBe(rows.length * trees);
      expect(differ).toBe(0);
      // And the flat serving form of the read-back model scores exactly like its trees.
      const flat = flattenEnsemble(back, model.featureCount);
      const x = new Float32Array(rows.length * model.featureCount);
      rows.forEach((r, i) => x.set(r, i * model.featureCount));
      const out = new Float64Array(rows.length);
      scoreRows(flat, x, rows.length, out);
      expect([...out]).toEqual(rows.map((r) => scoreRow(back, r)));
    }
    // The cases do exercise what is new: missing values sent right, and "missing against the rest" splits.
    expect(missingRight).toBeGreaterThan(10);
    expect(everyValueLeft).toBeGreaterThan(0);
  });
});
