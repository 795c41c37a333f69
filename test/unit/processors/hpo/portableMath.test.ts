import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cos, erfc, exp, log, pow } from '../../../../processors/hpo/portableMath.ts';
import { SeededRandom } from '../../../../processors/hpo/random.ts';

const HPO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'processors', 'hpo');

/** Distance in units in the last place between two finite doubles of the same sign. */
function ulps(a: number, b: number): number {
  const view = new DataView(new ArrayBuffer(16));
  view.setFloat64(0, a);
  view.setFloat64(8, b);
  return Math.abs(Number(view.getBigInt64(0) - view.getBigInt64(8)));
}

describe('portable math (the same bits on every runtime)', () => {
  // `make golden-nodes` runs this file on Node 20, 22 and 24: the digest must be the same on each.
  it('gives pinned bits for 20,000 seeded arguments of each function', () => {
    const r = new SeededRandom(2024, 'portable-math-test');
    const n = 20000;
    const out = new Float64Array(n * 6);
    for (let i = 0; i < n; i++) {
      const u = r.float();
      out[i * 6] = exp((u - 0.5) * 1400);
      out[i * 6 + 1] = exp(-u * 45);
      out[i * 6 + 2] = log(u * 1e3 + 1e-300);
      out[i * 6 + 3] = cos(2 * Math.PI * u);
      out[i * 6 + 4] = pow(u * 3, -1 / (2 + (i % 50)));
      out[i * 6 + 5] = erfc((u - 0.5) * 12);
    }
    expect(createHash('sha256').update(new Uint8Array(out.buffer)).digest('hex')).toBe('c4d2b49f409f59d36f6b09ac749351a5f2b9bae3a76b5dc4f827e1075e8a7234');
  });

  it('is within one ulp of the runtime Math functions (fdlibm-accurate)', () => {
    const r = new SeededRandom(7, 'accuracy');
    let worstExp = 0;
    let worstLog = 0;
    let worstCos = 0;
    for (let i = 0; i < 30000; i++) {
      const x = (r.float() - 0.5) * 1400;
      worstExp = Math.max(worstExp, ulps(exp(x), Math.exp(x)));
      const y = Math.exp((r.float() - 0.5) * 1400);
      worstLog = Math.max(worstLog, ulps(log(y), Math.log(y)));
      const z = (r.float() - 0.5) * 2000;
      worstCos = Math.max(worstCos, Math.abs(cos(z) - Math.cos(z)));
    }
    expect(worstExp).toBeLessThanOrEqual(1);
    expect(worstLog).toBeLessThanOrEqual(1);
    expect(worstCos).toBeLessThanOrEqual(2.3e-16);
  });

  it('handles the special values as Math does', () => {
    for (const x of [0, -0, 1, -1, Infinity, -Infinity, NaN, 709.78, 709.79, -745.13, -745.14, 1e-300, 5e-324, 2 ** -1022]) {
      expect(Object.is(exp(x), Math.exp(x)), `exp(${x})`).toBe(true);
      expect(Object.is(log(x), Math.log(x)), `log(${x})`).toBe(true);
    }
    for (const x of [0, -0, 1e-9, Math.PI / 4, Math.PI / 2, Math.PI, 2 * Math.PI, -3, 1e5]) expect(Object.is(cos(x), Math.cos(x)), `cos(${x})`).toBe(true);
    expect(cos(Infinity)).toBeNaN();
    expect([pow(2, 10), pow(2, -2), pow(-3, 3), pow(0, -1), pow(0, 0.5), pow(-2, 0.5), pow(9, 0.5)]).toEqual([1024, 0.25, -27, Infinity, 0, NaN, 3]);
    expect(Math.abs(pow(1000, -1 / 6) - Math.pow(1000, -1 / 6))).toBeLessThan(1e-15);
  });

  it('is what the engine uses: no runtime transcendental function in processors/hpo', () => {
    // kdeGpu.ts's kernels run inside gpu.js (float32, on the device), outside the deterministic path.
    const allowed = new Set(['portableMath.ts', 'kdeGpu.ts']);
    const offenders: string[] = [];
    for (const file of readdirSync(HPO_DIR, { recursive: true }) as string[]) {
      if (!file.endsWith('.ts') || allowed.has(file.split('/').pop() as string)) continue;
      const text = readFileSync(join(HPO_DIR, file), 'utf8');
      const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      // `**` only on the literal 2 (an exact power of two under any pow).
      if (/Math\.(exp|expm1|log|log1p|log2|log10|pow|cos|sin|tan|acos|asin|atan|atan2|cosh|sinh|tanh|hypot|cbrt|random)\s*\(|(?<!\b2 )\*\*/.test(code)) offenders.push(file);
    }
    expect(offenders).toEqual([]);
  });
});
