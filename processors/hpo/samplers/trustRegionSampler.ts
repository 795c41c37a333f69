/**
 * The quadratic trust region as a sampler (the model step is trustRegion.ts): around the best
 * trial, one step at a time; the region grows after a step that beat the centre it was taken
 * from and shrinks otherwise; when it collapses below `minRadius`, it hands over to its owner
 * for a few trials (`exploreTrials`, default max(5, d + 1)) and starts again. Proposes nothing
 * (null) without a completed trial, while exploring, or while its step is pending.
 */
import { type RandomState, SeededRandom } from '../random.ts';
import type { Observation, Proposal, Sampler, StudyView } from '../sampler.ts';
import { proposeTrustRegion, type TrustRegionOptions } from '../trustRegion.ts';

/** The region between asks. */
export type TrustRegionRun = {
  radius: number;
  restarts: number;
  /** After a collapse, asks before this trial number go to the owner. */
  exploreUntil: number;
  /** The trial number of the pending step, if any. */
  pendingTrial: number | null;
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
    this.run = state.run;
    this.random = SeededRandom.fromState(state.random);
  }

  static fresh(options: TrustRegionOptions, seed: number): TrustRegionSampler {
    return new TrustRegionSampler(options, { run: null, random: new SeededRandom(seed, 'trust-region').state() });
  }

  /** Forgets the region (the next proposal starts one of the initial radius). */
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
    const run = (this.run ??= { radius: o.initialRadius, restarts: 0, exploreUntil: 0, pendingTrial: null });
    const best = view.best();
    if (!best || view.trial < run.exploreUntil || run.pendingTrial !== null) return null;
    const space = view.space;
    const step = proposeTrustRegion(view.shape, view.history(), best.point, run.radius, o, this.random, (p) => space.encode(space.decode(p)));
    if (!step) return null; // no numeric dimension to move
    run.pendingTrial = view.trial;
    return { point: step.point, label: 'trust-region', tag: { kind: 'trust-region', centerLoss: best.loss } };
  }

  /** Grows the region after a step that beat its centre, shrinks it otherwise; restarts it after a collapse. */
  observe(view: StudyView, observation: Observation): void {
    const run = this.run;
    const tag = observation.tag;
    if (tag?.kind !== 'trust-region' || !run || run.pendingTrial !== observation.number) return;
    run.pendingTrial = null;
    const o = this.options;
    const loss = observation.losses ? (observation.losses[0] as number) : null;
    const improved = loss !== null && loss < (tag.centerLoss as number);
    run.radius = improved ? Math.min(o.maxRadius, run.radius * o.grow) : run.radius * o.shrink;
    if (run.radius < o.minRadius) {
      run.restarts++;
      const explore = o.exploreTrials > 0 ? o.exploreTrials : Math.max(5, view.space.dimension + 1);
      run.exploreUntil = view.asked() + explore;
      run.radius = o.initialRadius;
      view.audit('tr-restart', { reason: 'collapsed', restarts: run.restarts, exploreTrials: explore, bestValue: view.best()?.value });
    }
  }

  snapshot(): TrustRegionSamplerState {
    return { run: this.run ? { ...this.run } : null, random: this.random.state() };
  }
}
