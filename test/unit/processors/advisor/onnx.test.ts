import { describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import { FEATURE_NAMES } from '../../../../processors/advisor/features.ts';
import { predict, trainLambdaMart } from '../../../../processors/advisor/ltr/lambdaMart.ts';
import { toOnnx } from '../../../../processors/advisor/ltr/onnxExport.ts';
import { OnnxScorer } from '../../../../processors/advisor/ltr/onnxScorer.ts';
import { ltrQueries } from '../../../../simulate/rankingData.ts';

describe('ONNX export', () => {
  it('loads in onnxruntime-node and scores like the in-process trees, missing values included', async () => {
    const train = ltrQueries(60, 7);
    const model = trainLambdaMart(
      { x: train.flatMap((q) => q.features), labels: train.flatMap((q) => q.labels), queries: train.flatMap((q) => q.features.map(() => q.id)) },
      { trees: 40, leaves: 15 },
    );
    const bytes = toOnnx(model, { version: 'test-1', trainedAt: '2026-11-25T00:00:00.000Z', samples: 1, queries: 60, featureNames: FEATURE_NAMES });
    const decoded = onnxProto.onnx.ModelProto.decode(bytes);
    expect(Object.fromEntries(decoded.metadataProps.map((p) => [p.key, p.value]))).toMatchObject({ version: 'test-1', trees: '40' });
    expect(decoded.graph?.node?.[0]?.opType).toBe('TreeEnsembleRegressor');

    const scorer = await OnnxScorer.load(bytes, model.featureCount);
    const rows = ltrQueries(40, 8).flatMap((q) => q.features);
    // Rows with missing values: NaN must take the same branch in both.
    rows.push(...rows.slice(0, 20).map((r) => r.map((v, i) => (i % 3 === 0 ? Number.NaN : v))));
    const onnxScores = await scorer.score(rows);
    let maxDiff = 0;
    rows.forEach((r, i) => {
      maxDiff = Math.max(maxDiff, Math.abs((onnxScores[i] as number) - predict(model, r)));
    });
    await scorer.close();
    expect(maxDiff).toBeLessThan(1e-4);
  });
});
