/**
 * The mixture log density of kde.ts on gpu.js. gpu.js is loaded lazily and optionally:
 * where it cannot load, `loadGpuKde` returns null, logs why once, and callers stay on the
 * TypeScript path.
 *
 * gpu.js computes in float32 on every backend. To keep the result within ~1e-6 of the
 * float64 path, points and centres are passed as a (high, low) float32 pair, so the
 * difference point - centre (the ill-conditioned step) keeps float64-like precision; the
 * rest (scaling, squares, log-sum-exp) loses only float32 rounding.
 *
 * What runs where: with a GPU and headless-gl, the 'headlessgl' backend; in Node without
 * either (the bench machine), gpu.js 2.24 falls back to its WebAssembly backend ('webasm',
 * SIMD, single-threaded for a synchronous call) or, on request, its 'cpu' backend
 * (transpiled JavaScript).
 */
import { createRequire } from 'node:module';
import type { GaussianMixture, KdeQuery } from './kde.ts';

export type GpuJsMode = 'gpu' | 'cpu' | 'webasm' | 'headlessgl';

export interface GpuKde {
  /** The backend gpu.js actually chose ('webasm', 'cpu', 'headlessgl', ...). */
  readonly mode: string;
  evaluate(mixture: GaussianMixture, query: KdeQuery): Float64Array;
  destroy(): void;
}

interface GpuJsKernel {
  (...args: unknown[]): Float32Array | number[];
  setOutput(output: number[]): GpuJsKernel;
  destroy?: () => void;
}
interface GpuJsInstance {
  mode: string;
  createKernel(fn: (...args: never[]) => number, settings: Record<string, unknown>): GpuJsKernel;
  destroy?: () => void;
}
type GpuJsModule = { GPU: new (settings: { mode?: string }) => GpuJsInstance };

// Kernel sources. gpu.js parses these functions' text, so they use only its subset of JS:
// `this.thread.x` is the point index, loops over arguments m and d.
/* eslint-disable @typescript-eslint/no-explicit-any */
function logDensityKernel(this: any, ph: number[], pl: number[], ch: number[], cl: number[], inv: number[], coef: number[], m: number, d: number): number {
  const i = this.thread.x;
  let mx = -1e30;
  let s = 0;
  for (let j = 0; j < m; j++) {
    let q = 0;
    for (let k = 0; k < d; k++) {
      const z = (ph[i * d + k]! - ch[j * d + k]! + (pl[i * d + k]! - cl[j * d + k]!)) * inv[j * d + k]!;
      q += z * z;
    }
    const t = coef[j]! - 0.5 * q;
    if (t > mx) {
      s = s * Math.exp(mx - t) + 1;
      mx = t;
    } else {
      s += Math.exp(t - mx);
    }
  }
  return mx + Math.log(s);
}

function logDensityKernelWithExtra(this: any, ph: number[], pl: number[], ch: number[], cl: number[], inv: number[], coef: number[], extra: number[], m: number, d: number): number {
  const i = this.thread.x;
  let mx = -1e30;
  let s = 0;
  for (let j = 0; j < m; j++) {
    let q = 0;
    for (let k = 0; k < d; k++) {
      const z = (ph[i * d + k]! - ch[j * d + k]! + (pl[i * d + k]! - cl[j * d + k]!)) * inv[j * d + k]!;
      q += z * z;
    }
    const t = coef[j]! - 0.5 * q + extra[i * m + j]!;
    if (t > mx) {
      s = s * Math.exp(mx - t) + 1;
      mx = t;
    } else {
      s += Math.exp(t - mx);
    }
  }
  return mx + Math.log(s);
}
/* eslint-enable @typescript-eslint/no-explicit-any */

function splitHighLow(values: Float64Array): [Float32Array, Float32Array] {
  const high = new Float32Array(values);
  const low = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) low[i] = (values[i] as number) - (high[i] as number);
  return [high, low];
}

let loadFailure: string | null = null;
let loggedFailure = false;

/**
 * gpu.js, or null when it cannot be loaded here (the reason is logged once through `log`,
 * default console.warn, and kept for `gpuKdeUnavailableReason`).
 */
export function loadGpuKde(options: { mode?: GpuJsMode; log?: (message: string) => void } = {}): GpuKde | null {
  const log = options.log ?? ((message: string) => console.warn(message));
  let gpu: GpuJsInstance;
  try {
    const gpuJs = createRequire(import.meta.url)('gpu.js') as GpuJsModule;
    gpu = new gpuJs.GPU(options.mode ? { mode: options.mode } : {});
  } catch (err) {
    loadFailure = `gpu.js could not be loaded (${(err as Error).message}); the HPO engine uses its TypeScript KDE`;
    if (!loggedFailure) log(loadFailure);
    loggedFailure = true;
    return null;
  }
  const settings = { dynamicOutput: true, dynamicArguments: true, loopMaxIterations: 1 << 24, output: [1], precision: 'single', tactic: 'precision' };
  let plain: GpuJsKernel | null = null;
  let withExtra: GpuJsKernel | null = null;
  let mode = gpu.mode;
  return {
    get mode() {
      return mode;
    },
    evaluate(mixture: GaussianMixture, query: KdeQuery): Float64Array {
      const [ph, pl] = splitHighLow(query.points);
      const [ch, cl] = splitHighLow(mixture.centers);
      const inv = new Float32Array(mixture.invSigmas);
      const coef = new Float32Array(mixture.logCoefficients);
      let result: Float32Array | number[];
      if (query.extra) {
        withExtra ??= gpu.createKernel(logDensityKernelWithExtra as (...args: never[]) => number, settings);
        withExtra.setOutput([query.count]);
        result = withExtra(ph, pl, ch, cl, inv, coef, new Float32Array(query.extra), mixture.size, mixture.dims);
      } else {
        plain ??= gpu.createKernel(logDensityKernel as (...args: never[]) => number, settings);
        plain.setOutput([query.count]);
        result = plain(ph, pl, ch, cl, inv, coef, mixture.size, mixture.dims);
      }
      mode = gpu.mode;
      return Float64Array.from(result);
    },
    destroy() {
      plain?.destroy?.();
      withExtra?.destroy?.();
      gpu.destroy?.();
    },
  };
}

/** Why gpu.js could not be loaded in this process, or null if it loaded (or was never tried). */
export function gpuKdeUnavailableReason(): string | null {
  return loadFailure;
}
