/**
 * The quadratic trust region as a sampler (the model step is trustRegion.ts): one step at a
 * time around its centre, which starts at the best trial, follows the steps that beat it, and
 * moves to a better trial its owner found elsewhere; the region grows after an improving step
 * and shrinks otherwise. When it collapses below `minRadius`:
 * 1. in a space with categorical or grid parameters, the centre's neighbours that no trial
 *    tried (one choice changed, the choices the best trials made first; one grid value up or
 *    down) are proposed one by one, and the run goes on from the first that beats the centre
 *    (the region cannot see these: its radius is below a grid step);
 * 2. otherwise the basin is recorded (its centre and the largest radius the run reached), the
 *    owner proposes for a few trials (`exploreTrials`, default max(5, d + 1)), and a new region
 *    starts, with radius `initialRadius` x `restartGrowth`^restarts (capped at `maxRadius`):
 *    the growing regions of IPOP-style restarts, centred
 *    - `restartFrom: 'distinct'` (default): on the best trial outside every recorded basin
 *      (same choices and within its reach in every numeric coordinate), so more budget goes to
 *      other basins instead of re-polishing a converged one; the best trial when all are in one;
 *    - `'explore'`: on the best trial of the owner's exploration since the collapse (TPE's
 *      good region) when it is outside the basins, else as 'distinct';
 *    - `'best'`: on the best trial again (the behaviour before restarts left the basin).
 * Proposes nothing (null) without a completed trial, while its owner explores, or while its
 * step is pending.
 */
import { pow } from '../portableMath.ts';
import { type RandomState, SeededRandom } from '../random.ts';
import type { Observation, Proposal, Sampler, StudyView } from '../sampler.ts';
import type { ScoredPoint } from '../tpe.ts';
import { proposeTrustRegion, type TrustRegionOptions } from '../trustRegion.ts';

/** The region between asks. */
export type TrustRegionRun = {
  radius: number;
  restarts: number;
  /** After a collapse, asks before this trial number go to the owner. */
  exploreUntil: number;
  /** The trial number of the pending step, if any. */
  pendingTrial: number | null;
  /** The region's centre and its loss (null until the run starts, and after a collapse). */
  center?: number[] | null;
  centerLoss?: number | null;
  /** The regions that collapsed: their last centre and the largest radius they reached. */
  basins?: Array<{ center: number[]; reach: number }>;
  /** The largest radius of this run so far. */
  reach?: number;
  /** The best loss when the run started (the region follows a better trial found since, wherever it is). */
  bestAtStart?: number;
  /** The trial number from which the owner explored after the last collapse. */
  exploreFrom?: number;
  /** After a collapse in a space with categorical parameters: the choices next to the centre are being tried. */
  scanning?: boolean;
};

export type TrustRegionSamplerState = { run: TrustRegionRun | null; random: RandomState };

export class TrustRegionSampler implements Sampler {
  private run: TrustRegionRun | null;
  /** The jitter stream (a random point of the region when the model's minimiser was evaluated already). */
  private readonly random: SeededRandom;

  constructor(
    private readonly options: TrustRegionOptions,
    state: TrustRegionSamplerState,
  ) {
    this.run = state.run ? structuredClone(state.run) : null;
    this.random = SeededRandom.fromState(state.random);
  }

  static fresh(options: TrustRegionOptions, seed: number): TrustRegionSampler {
    return new TrustRegionSampler(options, { run: null, random: new SeededRandom(seed, 'trust-region').state() });
  }

  /** Forgets the region and its basins (the next proposal starts one of the initial radius at the best trial). */
  reset(): void {
    this.run = null;
  }

  /** True when a proposal now would wait on the pending step (and not on exploration or a first result). */
  waitsOnStep(view: StudyView): boolean {
    const run = this.run;
    return run !== null && view.best() !== null && view.trial >= run.exploreUntil && run.pendingTrial !== null;
  }

  propose(view: StudyView): Proposal | null {
    const o = this.options;
    const run = (this.run ??= { radius: o.initialRadius, restarts: 0, exploreUntil: 0, pendingTrial: null, center: null, centerLoss: null, basins: [], reach: o.initialRadius, scanning: false });
    const best = view.best();
    if (!best || view.trial < run.exploreUntil || run.pendingTrial !== null) return null;
    if (!run.center) {
      const start = run.restarts === 0 || o.restartFrom === 'best' ? { point: best.point, loss: best.loss } : this.restartPoint(view, run);
      run.center = Array.from(start.point);
      run.centerLoss = start.loss;
      run.bestAtStart = best.loss;
      if (run.restarts > 0) view.audit('tr-restart', { reason: 'a new region', restarts: run.restarts, center: run.center, centerValue: start.loss, radius: run.radius, basins: run.basins?.length ?? 0 });
    } else if (best.loss < Math.min(run.centerLoss as number, run.bestAtStart ?? Infinity)) {
      // A new best trial from elsewhere (the owner's proposals): the region moves to it.
      run.center = Array.from(best.point);
      run.centerLoss = best.loss;
    }
    const tag = { kind: 'trust-region', centerLoss: run.centerLoss as number };
    if (run.scanning) {
      // The region collapsed: the centre's neighbours (one choice changed, one grid step) that no trial tried.
      const flip = this.untriedNeighbour(view, run.center);
      if (flip) {
        run.pendingTrial = view.trial;
        return { point: flip, label: 'trust-region', tag: { ...tag, scan: true } };
      }
      this.restart(view);
      return null;
    }
    const space = view.space;
    const step = proposeTrustRegion(view.shape, view.history(), run.center, run.radius, o, this.random, (p) => space.encode(space.decode(p)));
    if (!step) return null; // nothing to move
    run.pendingTrial = view.trial;
    return { point: step.point, label: 'trust-region', tag };
  }

  /**
   * Grows the region after a step that beat its centre (which moves there), shrinks it
   * otherwise. When it collapses, the choices next to the centre are scanned (categorical
   * spaces), and the run restarts unless one of them is better, which the run then continues from.
   */
  observe(view: StudyView, observation: Observation): void {
    const run = this.run;
    const tag = observation.tag;
    if (tag?.kind !== 'trust-region' || !run || run.pendingTrial !== observation.number) return;
    run.pendingTrial = null;
    const o = this.options;
    const loss = observation.losses ? (observation.losses[0] as number) : null;
    const improved = loss !== null && loss < (tag.centerLoss as number);
    if (improved && loss < (run.centerLoss ?? Infinity)) {
      run.center = Array.from(observation.point);
      run.centerLoss = loss;
    }
    if (tag.scan) {
      if (improved) {
        run.scanning = false;
        run.radius = o.initialRadius;
        view.audit('tr-restart', { reason: 'a neighbouring choice is better', bestValue: view.best()?.value });
      }
      return;
    }
    run.radius = improved ? Math.min(o.maxRadius, run.radius * o.grow) : run.radius * o.shrink;
    run.reach = Math.max(run.reach ?? o.initialRadius, run.radius);
    if (run.radius < o.minRadius) {
      if (view.shape.choiceCounts.some((c, k) => c > 0 || (view.shape.levelPositions?.[k] ?? null) !== null)) run.scanning = true;
      else this.restart(view);
    }
  }

  /** After a collapse: records the basin, lets the owner explore, and sets the next region's radius. */
  private restart(view: StudyView): void {
    const run = this.run as TrustRegionRun;
    const o = this.options;
    run.restarts++;
    run.scanning = false;
    const explore = o.exploreTrials > 0 ? o.exploreTrials : Math.max(5, view.space.dimension + 1);
    run.exploreFrom = view.asked();
    run.exploreUntil = view.asked() + explore;
    run.radius = Math.min(o.maxRadius, o.initialRadius * pow(o.restartGrowth, run.restarts));
    if (run.center) (run.basins ??= []).push({ center: run.center, reach: run.reach ?? o.initialRadius });
    run.center = null;
    run.centerLoss = null;
    run.reach = run.radius;
    view.audit('tr-restart', { reason: 'collapsed', restarts: run.restarts, exploreTrials: explore, bestValue: view.best()?.value, nextRadius: run.radius, from: o.restartFrom });
  }

  snapshot(): TrustRegionSamplerState {
    return { run: this.run ? structuredClone(this.run) : null, random: this.random.state() };
  }

  /**
   * A neighbour of the centre that no trial tried: one categorical choice changed, or one grid
   * value one step up or down ("tried": a trial with the same choices and grid values, within
   * initialRadius in every continuous coordinate). Choices the best trials made (the best
   * tenth of the history, at least 5) come first, by how often they made them; then the
   * rest; ties at random. Null when every neighbour was tried.
   */
  private untriedNeighbour(view: StudyView, center: readonly number[]): number[] | null {
    const shape = view.shape;
    const history = view.history();
    const good = [...history].sort((a, b) => a.loss - b.loss).slice(0, Math.max(5, Math.ceil(history.length / 10)));
    const reach = this.options.initialRadius;
    let best: number[][] = [];
    let bestCount = -1;
    const consider = (neighbour: number[], count: number) => {
      if (count < bestCount || history.some((h) => sameCell(shape, h.point, neighbour, reach))) return;
      if (count > bestCount) best = [];
      bestCount = count;
      best.push(neighbour);
    };
    for (let k = 0; k < shape.dimension; k++) {
      const m = shape.choiceCounts[k] as number;
      const grid = shape.levelPositions?.[k] ?? null;
      if (m > 0) {
        const own = choiceOf(center[k] as number, m);
        for (let j = 0; j < m; j++) {
          if (j === own) continue;
          const flipped = [...center];
          flipped[k] = (j + 0.5) / m;
          consider(flipped, good.filter((g) => choiceOf(g.point[k] as number, m) === j).length);
        }
      } else if (grid && grid.length > 1) {
        const at = nearestLevel(grid, center[k] as number);
        for (const next of [at - 1, at + 1]) {
          if (next < 0 || next >= grid.length) continue;
          const moved = [...center];
          moved[k] = grid[next] as number;
          consider(moved, 0);
        }
      }
    }
    return best.length > 0 ? (best[this.random.int(best.length)] as number[]) : null;
  }

  /**
   * Where a region starts after a collapse: 'explore', the best of the trials the owner
   * proposed since (TPE's good region), when one is outside the recorded basins; else
   * 'distinct', the best trial outside them.
   */
  private restartPoint(view: StudyView, run: TrustRegionRun): ScoredPoint {
    if (this.options.restartFrom === 'explore') {
      const explored = view.bestSince(run.exploreFrom ?? 0);
      const basins = run.basins ?? [];
      if (explored && !basins.some((b) => near(view.shape, explored.point, b.center, b.reach))) return { point: explored.point, loss: explored.loss };
    }
    return this.distinctStart(view);
  }

  /** The best trial outside every recorded basin, or the best trial when there is none. */
  private distinctStart(view: StudyView): ScoredPoint {
    const basins = this.run?.basins ?? [];
    const shape = view.shape;
    const inBasin = (p: ArrayLike<number>) => basins.some((b) => near(shape, p, b.center, b.reach));
    let start: ScoredPoint | null = null;
    for (const h of view.history()) if ((!start || h.loss < start.loss) && !inBasin(h.point)) start = h;
    const best = view.best() as NonNullable<ReturnType<StudyView['best']>>;
    return start ?? { point: best.point, loss: best.loss };
  }
}

function choiceOf(u: number, choices: number): number {
  return Math.min(choices - 1, Math.max(0, Math.floor(u * choices)));
}

/** Same choices, and within `reach` in every numeric coordinate. */
function near(shape: StudyView['shape'], p: ArrayLike<number>, q: ArrayLike<number>, reach: number): boolean {
  for (let k = 0; k < shape.dimension; k++) {
    const choices = shape.choiceCounts[k] as number;
    if (choices > 0 ? choiceOf(p[k] as number, choices) !== choiceOf(q[k] as number, choices) : Math.abs((p[k] as number) - (q[k] as number)) > reach) return false;
  }
  return true;
}

function nearestLevel(grid: Float64Array, v: number): number {
  let best = 0;
  for (let i = 1; i < grid.length; i++) if (Math.abs((grid[i] as number) - v) < Math.abs((grid[best] as number) - v)) best = i;
  return best;
}

/** Same choices and grid values, and within `reach` in every continuous coordinate. */
function sameCell(shape: StudyView['shape'], p: ArrayLike<number>, q: ArrayLike<number>, reach: number): boolean {
  for (let k = 0; k < shape.dimension; k++) {
    const choices = shape.choiceCounts[k] as number;
    const a = p[k] as number;
    const b = q[k] as number;
    if (choices > 0) {
      if (choiceOf(a, choices) !== choiceOf(b, choices)) return false;
    } else if ((shape.levelPositions?.[k] ?? null) !== null) {
      if (Math.abs(a - b) > 1e-12) return false;
    } else if (Math.abs(a - b) > reach) return false;
  }
  return true;
}
