/** Scores feature rows with an exported model through onnxruntime-node (CPU). */
import ort from 'onnxruntime-node';

export class OnnxScorer {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly featureCount: number,
    readonly metadata: Record<string, string>,
  ) {}

  static async load(bytes: Uint8Array, featureCount: number, metadata: Record<string, string> = {}): Promise<OnnxScorer> {
    return new OnnxScorer(await ort.InferenceSession.create(bytes), featureCount, metadata);
  }

  async score(rows: ReadonlyArray<ArrayLike<number>>): Promise<Float32Array> {
    const data = new Float32Array(rows.length * this.featureCount);
    rows.forEach((r, i) => {
      for (let f = 0; f < this.featureCount; f++) data[i * this.featureCount + f] = r[f] as number;
    });
    const out = await this.session.run({ X: new ort.Tensor('float32', data, [rows.length, this.featureCount]) });
    return (out.Y as ort.Tensor).data as Float32Array;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
