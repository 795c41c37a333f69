/**
 * Reads back what `toOnnx` wrote: the TreeEnsembleRegressor's node arrays become trees
 * again, so the stream scores a persisted model in process (synchronously, inside the
 * task) with exactly the thresholds ONNX holds, float32 as onnxruntime sees them, and each
 * split's missing-value branch. Leaf weights already include the learning rate, so the
 * rebuilt model's rate is 1.
 */
import onnxProto from 'onnx-proto';
import type { LambdaMartModel, Tree } from './lambdaMart.ts';

const { onnx } = onnxProto;

export interface ImportedModel {
  model: LambdaMartModel;
  metadata: Record<string, string>;
}

export function fromOnnx(bytes: Uint8Array): ImportedModel {
  const proto = onnx.ModelProto.decode(bytes);
  const node = proto.graph?.node?.find((n) => n.opType === 'TreeEnsembleRegressor');
  if (!node) throw new Error('not a tree-ensemble model: no TreeEnsembleRegressor node');
  const ints = (name: string) => (node.attribute?.find((a) => a.name === name)?.ints ?? []).map(Number);
  const floats = (name: string) => node.attribute?.find((a) => a.name === name)?.floats ?? [];
  const strings = (name: string) => (node.attribute?.find((a) => a.name === name)?.strings ?? []).map((s) => Buffer.from(s).toString());
  const treeIds = ints('nodes_treeids');
  const nodeIds = ints('nodes_nodeids');
  const featureIds = ints('nodes_featureids');
  const values = floats('nodes_values');
  const modes = strings('nodes_modes');
  const trueIds = ints('nodes_truenodeids');
  const falseIds = ints('nodes_falsenodeids');
  const missingTrue = ints('nodes_missing_value_tracks_true');
  const trees: Tree[] = [];
  const treeOf = (id: number): Tree => (trees[id] ??= { feature: [], threshold: [], left: [], right: [], value: [], missingLeft: [] });
  treeIds.forEach((treeId, i) => {
    const t = treeOf(treeId);
    const n = nodeIds[i] as number;
    const leaf = modes[i] === 'LEAF';
    if (!leaf && modes[i] !== 'BRANCH_LEQ') throw new Error(`unsupported node mode ${modes[i]}`);
    // Absent, the ONNX default holds: missing values take the false branch.
    const missing = missingTrue[i] ?? 0;
    if (!leaf && missing !== 0 && missing !== 1) throw new Error(`nodes_missing_value_tracks_true must be 0 or 1, got ${missing}`);
    t.feature[n] = leaf ? -1 : (featureIds[i] as number);
    (t.missingLeft as boolean[])[n] = leaf || missing === 1;
    t.threshold[n] = leaf ? 0 : Math.fround(values[i] as number);
    t.left[n] = leaf ? -1 : (trueIds[i] as number);
    t.right[n] = leaf ? -1 : (falseIds[i] as number);
    t.value[n] = 0;
  });
  const targetTrees = ints('target_treeids');
  const targetNodes = ints('target_nodeids');
  const weights = floats('target_weights');
  targetTrees.forEach((treeId, i) => {
    const t = treeOf(treeId);
    const n = targetNodes[i] as number;
    t.value[n] = (t.value[n] ?? 0) + Math.fround(weights[i] as number);
  });
  const input = proto.graph?.input?.[0]?.type?.tensorType?.shape?.dim?.[1];
  const featureCount = Number(input?.dimValue ?? 0);
  const metadata = Object.fromEntries((proto.metadataProps ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  return { model: { featureCount, learningRate: 1, trees }, metadata };
}
