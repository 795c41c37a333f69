/**
 * Exports a LambdaMART model as ONNX: one ai.onnx.ml TreeEnsembleRegressor (opset 3),
 * input X float[N, F], output Y float[N, 1], with the version and training metadata in
 * the model's metadata_props. Missing values (NaN) take the branch each split learned
 * (`nodes_missing_value_tracks_true`: 1 for the true, i.e. left, branch). Written with
 * onnx-proto's generated protobuf messages.
 */
import onnxProto from 'onnx-proto';
import type { LambdaMartModel } from './lambdaMart.ts';

const { onnx } = onnxProto;

export interface ModelMetadata {
  version: string;
  trainedAt: string;
  samples: number;
  queries: number;
  featureNames: readonly string[];
  metrics?: Record<string, number>;
}

function attr(name: string, value: { ints?: number[]; floats?: number[]; strings?: string[]; i?: number; s?: string }): InstanceType<typeof onnx.AttributeProto> {
  const A = onnx.AttributeProto.AttributeType;
  if (value.ints) return onnx.AttributeProto.create({ name, type: A.INTS, ints: value.ints });
  if (value.floats) return onnx.AttributeProto.create({ name, type: A.FLOATS, floats: value.floats });
  if (value.strings) return onnx.AttributeProto.create({ name, type: A.STRINGS, strings: value.strings.map((x) => Buffer.from(x)) });
  if (value.i !== undefined) return onnx.AttributeProto.create({ name, type: A.INT, i: value.i });
  return onnx.AttributeProto.create({ name, type: A.STRING, s: Buffer.from(value.s ?? '') });
}

export function toOnnx(model: LambdaMartModel, meta: ModelMetadata): Uint8Array {
  const n = { treeIds: [] as number[], nodeIds: [] as number[], featureIds: [] as number[], values: [] as number[], modes: [] as string[], trueIds: [] as number[], falseIds: [] as number[], missingTrue: [] as number[] };
  const t = { treeIds: [] as number[], nodeIds: [] as number[], ids: [] as number[], weights: [] as number[] };
  model.trees.forEach((tree, treeId) => {
    tree.feature.forEach((f, node) => {
      const leaf = f < 0;
      n.treeIds.push(treeId);
      n.nodeIds.push(node);
      n.featureIds.push(leaf ? 0 : f);
      // A -Infinity threshold (older models' NaN-only split) becomes the lowest float; +Infinity
      // (every value left, NaN right) is a float as it is.
      n.values.push(leaf ? 0 : Math.max(tree.threshold[node] as number, -3.4e38));
      n.modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      n.trueIds.push(leaf ? 0 : (tree.left[node] as number));
      n.falseIds.push(leaf ? 0 : (tree.right[node] as number));
      n.missingTrue.push(leaf || !(tree.missingLeft?.[node] ?? true) ? 0 : 1);
      if (leaf) {
        t.treeIds.push(treeId);
        t.nodeIds.push(node);
        t.ids.push(0);
        t.weights.push((tree.value[node] as number) * model.learningRate);
      }
    });
  });
  const floatTensor = (name: string, dims: Array<number | string>) =>
    onnx.ValueInfoProto.create({
      name,
      type: onnx.TypeProto.create({
        tensorType: onnx.TypeProto.Tensor.create({
          elemType: onnx.TensorProto.DataType.FLOAT,
          shape: onnx.TensorShapeProto.create({ dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) }),
        }),
      }),
    });
  const node = onnx.NodeProto.create({
    opType: 'TreeEnsembleRegressor',
    domain: 'ai.onnx.ml',
    name: 'lambdamart',
    input: ['X'],
    output: ['Y'],
    attribute: [
      attr('nodes_treeids', { ints: n.treeIds }),
      attr('nodes_nodeids', { ints: n.nodeIds }),
      attr('nodes_featureids', { ints: n.featureIds }),
      attr('nodes_values', { floats: n.values }),
      attr('nodes_modes', { strings: n.modes }),
      attr('nodes_truenodeids', { ints: n.trueIds }),
      attr('nodes_falsenodeids', { ints: n.falseIds }),
      attr('nodes_missing_value_tracks_true', { ints: n.missingTrue }),
      attr('target_treeids', { ints: t.treeIds }),
      attr('target_nodeids', { ints: t.nodeIds }),
      attr('target_ids', { ints: t.ids }),
      attr('target_weights', { floats: t.weights }),
      attr('n_targets', { i: 1 }),
      attr('aggregate_function', { s: 'SUM' }),
      attr('post_transform', { s: 'NONE' }),
    ],
  });
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'artenic-optimizer',
    producerVersion: meta.version,
    modelVersion: Date.parse(meta.trainedAt) || 0,
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: 'ai.onnx.ml', version: 3 }), onnx.OperatorSetIdProto.create({ domain: '', version: 17 })],
    graph: onnx.GraphProto.create({ name: 'ranker', node: [node], input: [floatTensor('X', ['N', model.featureCount])], output: [floatTensor('Y', ['N', 1])] }),
    metadataProps: [
      { key: 'version', value: meta.version },
      { key: 'trained_at', value: meta.trainedAt },
      { key: 'samples', value: String(meta.samples) },
      { key: 'queries', value: String(meta.queries) },
      { key: 'trees', value: String(model.trees.length) },
      { key: 'learning_rate', value: String(model.learningRate) },
      { key: 'feature_names', value: meta.featureNames.join(',') },
      { key: 'metrics', value: JSON.stringify(meta.metrics ?? {}) },
    ].map((e) => onnx.StringStringEntryProto.create(e)),
  });
  return onnx.ModelProto.encode(proto).finish();
}
