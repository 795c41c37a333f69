/**
 * Nelder–Mead as an ask/tell state machine in the unit cube. Every point it asks is
 * projected onto [0,1]^d. Coefficients adapt to the dimension (Gao & Han 2012), which keeps
 * the method from stalling in higher dimensions.
 *
 * Restarts: when the simplex collapses (largest distance from the best vertex below
 * `collapseTolerance`) or the best value has not improved for `stallIterations` iterations,
 * a fresh axis-aligned simplex of size `restartStep` is built around the best point found.
 *
 * Parallelism: the initial simplex and a shrink ask their points together; reflection,
 * expansion and contraction are one point each, so `ask` returns null while that point is
 * out. Every vertex is asked once.
 *
 * The whole state is plain data (`state()`), so a study snapshot stores it as JSON.
 */

export interface NelderMeadOptions {
  /** Size of the initial simplex around a start point (unit-cube units). */
  readonly initialStep: number;
  /** Size of the simplex after a restart. */
  readonly restartStep: number;
  /** Simplex diameter below which it counts as collapsed. */
  readonly collapseTolerance: number;
  /** Iterations without improvement of the best vertex before a restart (0: never). */
  readonly stallIterations: number;
}

export const DEFAULT_NELDER_MEAD_OPTIONS: NelderMeadOptions = {
  initialStep: 0.25,
  restartStep: 0.1,
  collapseTolerance: 1e-4,
  stallIterations: 0, // 0 means 10 * (d + 1), set at construction
};

interface Vertex {
  point: number[];
  loss: number;
}

interface Request {
  id: number;
  point: number[];
  asked: boolean;
  loss: number | null;
}

type Phase = 'init' | 'reflect' | 'expand' | 'contract-outside' | 'contract-inside' | 'shrink';

export interface NelderMeadState {
  dimension: number;
  options: NelderMeadOptions;
  phase: Phase;
  simplex: Vertex[]; // sorted best first once initialised
  requests: Request[];
  nextRequestId: number;
  centroid: number[];
  reflected: Vertex | null;
  bestLoss: number;
  iterationsSinceImprovement: number;
  iterations: number;
  restarts: number;
}

export interface NelderMeadAsk {
  readonly requestId: number;
  readonly point: number[];
}

export type NelderMeadEvent = { kind: 'restart'; reason: 'collapsed' | 'stalled'; diameter: number; bestLoss: number; restarts: number };

export class NelderMead {
  private s: NelderMeadState;

  private constructor(state: NelderMeadState) {
    this.s = state;
  }

  /** Starts from evaluated vertices (e.g. the best probe points) when d + 1 of them span the space, else from an axis simplex around `start`. */
  static create(dimension: number, start: { point: ArrayLike<number>; loss: number | null }, options: Partial<NelderMeadOptions> = {}, known: readonly Vertex[] = []): NelderMead {
    const merged = { ...DEFAULT_NELDER_MEAD_OPTIONS, ...options };
    const opts: NelderMeadOptions = { ...merged, stallIterations: merged.stallIterations === 0 ? 10 * (dimension + 1) : merged.stallIterations };
    const nm = new NelderMead({
      dimension,
      options: opts,
      phase: 'init',
      simplex: [],
      requests: [],
      nextRequestId: 0,
      centroid: [],
      reflected: null,
      bestLoss: Infinity,
      iterationsSinceImprovement: 0,
      iterations: 0,
      restarts: 0,
    });
    const vertices = known.slice(0, dimension + 1).map((v) => ({ point: Array.from(v.point, clamp01), loss: v.loss }));
    if (vertices.length === dimension + 1 && spansSpace(vertices.map((v) => v.point))) {
      nm.s.simplex = vertices;
      nm.beginIteration();
    } else {
      nm.startSimplex(Array.from(start.point, clamp01), start.loss, opts.initialStep);
    }
    return nm;
  }

  static restore(state: NelderMeadState): NelderMead {
    return new NelderMead(structuredClone(state));
  }

  state(): NelderMeadState {
    return structuredClone(this.s);
  }

  get restarts(): number {
    return this.s.restarts;
  }

  /** The next point to evaluate, or null while the current step waits for results. */
  ask(): NelderMeadAsk | null {
    const request = this.s.requests.find((r) => !r.asked);
    if (!request) return null;
    request.asked = true;
    return { requestId: request.id, point: [...request.point] };
  }

  /** Result for a point this instance asked; NaN or null counts as worst. Returns events (restarts). */
  tell(requestId: number, loss: number | null): NelderMeadEvent[] {
    const request = this.s.requests.find((r) => r.id === requestId);
    if (!request) return [];
    request.loss = loss === null || Number.isNaN(loss) ? Infinity : loss;
    if (this.s.requests.some((r) => r.loss === null)) return [];
    return this.advance();
  }

  private startSimplex(center: number[], centerLoss: number | null, step: number): void {
    const d = this.s.dimension;
    this.s.phase = 'init';
    this.s.simplex = [];
    this.s.requests = [];
    if (centerLoss !== null) this.s.simplex.push({ point: center, loss: centerLoss });
    else this.enqueue(center);
    for (let k = 0; k < d; k++) {
      const p = [...center];
      const up = (p[k] as number) + step;
      p[k] = up <= 1 ? up : (p[k] as number) - step; // stay inside the cube
      this.enqueue(p);
    }
  }

  private enqueue(point: number[]): void {
    this.s.requests.push({ id: this.s.nextRequestId++, point: point.map(clamp01), asked: false, loss: null });
  }

  private advance(): NelderMeadEvent[] {
    const s = this.s;
    const results = s.requests.map((r) => ({ point: r.point, loss: r.loss as number }));
    s.requests = [];
    const worst = s.simplex[s.simplex.length - 1] as Vertex;
    const secondWorst = s.simplex[s.simplex.length - 2];
    const best = s.simplex[0];
    switch (s.phase) {
      case 'init':
        s.simplex.push(...results);
        break;
      case 'shrink':
        s.simplex = [s.simplex[0] as Vertex, ...results];
        break;
      case 'reflect': {
        const r = results[0] as Vertex;
        if (best && r.loss < best.loss) {
          s.reflected = r;
          s.phase = 'expand';
          this.enqueue(along(s.centroid, r.point, this.coefficients().expansion));
          return [];
        }
        if (secondWorst && r.loss < secondWorst.loss) {
          s.simplex[s.simplex.length - 1] = r;
          break;
        }
        s.reflected = r;
        if (r.loss < worst.loss) {
          s.phase = 'contract-outside';
          this.enqueue(along(s.centroid, r.point, this.coefficients().contraction));
        } else {
          s.phase = 'contract-inside';
          this.enqueue(along(s.centroid, worst.point, this.coefficients().contraction));
        }
        return [];
      }
      case 'expand': {
        const e = results[0] as Vertex;
        const r = s.reflected as Vertex;
        s.simplex[s.simplex.length - 1] = e.loss < r.loss ? e : r;
        break;
      }
      case 'contract-outside':
      case 'contract-inside': {
        const c = results[0] as Vertex;
        const threshold = s.phase === 'contract-outside' ? (s.reflected as Vertex).loss : worst.loss;
        if (c.loss <= threshold && !(s.phase === 'contract-inside' && c.loss >= worst.loss)) {
          s.simplex[s.simplex.length - 1] = c;
          break;
        }
        s.phase = 'shrink';
        const b = (s.simplex[0] as Vertex).point;
        const delta = this.coefficients().shrink;
        for (const v of s.simplex.slice(1)) this.enqueue(along(b, v.point, delta));
        return [];
      }
    }
    s.reflected = null;
    return this.beginIteration();
  }

  /** Sorts the simplex, checks for collapse or stall, and asks the reflection of the worst vertex. */
  private beginIteration(): NelderMeadEvent[] {
    const s = this.s;
    s.simplex.sort((a, b) => a.loss - b.loss);
    const best = s.simplex[0] as Vertex;
    s.iterations++;
    if (best.loss < s.bestLoss) {
      s.bestLoss = best.loss;
      s.iterationsSinceImprovement = 0;
    } else {
      s.iterationsSinceImprovement++;
    }
    const diameter = Math.max(...s.simplex.map((v) => distance(v.point, best.point)));
    const collapsed = diameter < s.options.collapseTolerance;
    const stalled = s.options.stallIterations > 0 && s.iterationsSinceImprovement >= s.options.stallIterations;
    if (collapsed || stalled) {
      s.restarts++;
      s.iterationsSinceImprovement = 0;
      const event: NelderMeadEvent = { kind: 'restart', reason: collapsed ? 'collapsed' : 'stalled', diameter, bestLoss: best.loss, restarts: s.restarts };
      this.startSimplex([...best.point], best.loss, s.options.restartStep);
      return [event];
    }
    const d = s.dimension;
    s.centroid = new Array<number>(d).fill(0);
    for (const v of s.simplex.slice(0, -1)) for (let k = 0; k < d; k++) s.centroid[k] = (s.centroid[k] as number) + (v.point[k] as number) / d;
    s.phase = 'reflect';
    this.enqueue(along(s.centroid, (s.simplex[s.simplex.length - 1] as Vertex).point, -this.coefficients().reflection));
    return [];
  }

  private coefficients(): { reflection: number; expansion: number; contraction: number; shrink: number } {
    const n = this.s.dimension;
    if (n < 2) return { reflection: 1, expansion: 2, contraction: 0.5, shrink: 0.5 };
    return { reflection: 1, expansion: 1 + 2 / n, contraction: 0.75 - 1 / (2 * n), shrink: 1 - 1 / n };
  }
}

/** from + t * (to - from); t = -1 reflects `to` through `from`. */
function along(from: number[], to: number[], t: number): number[] {
  return from.map((f, k) => f + t * ((to[k] as number) - f));
}

function distance(a: number[], b: number[]): number {
  let sum = 0;
  for (let k = 0; k < a.length; k++) sum += square((a[k] as number) - (b[k] as number));
  return Math.sqrt(sum);
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** Gram–Schmidt on the edges: true when no edge is (nearly) in the span of the others. */
function spansSpace(points: number[][]): boolean {
  const origin = points[0] as number[];
  const basis: number[][] = [];
  for (const p of points.slice(1)) {
    const v = p.map((x, k) => x - (origin[k] as number));
    const norm0 = Math.sqrt(dot(v, v));
    for (const b of basis) {
      const dot = v.reduce((acc, x, k) => acc + x * (b[k] as number), 0);
      for (let k = 0; k < v.length; k++) v[k] = (v[k] as number) - dot * (b[k] as number);
    }
    const norm = Math.sqrt(dot(v, v));
    if (norm0 === 0 || norm < 1e-3 * norm0) return false;
    basis.push(v.map((x) => x / norm));
  }
  return true;
}

function square(x: number): number {
  return x * x;
}

function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += (a[k] as number) * (b[k] as number);
  return s;
}
