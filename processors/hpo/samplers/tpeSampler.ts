/**
 * TPE as a sampler (the model is tpe.ts and parzenEstimator.ts): each proposal fits the good
 * and the bad group of the history, with pending trials as bad ones (a constant liar), and
 * takes the candidate with the largest l(x) / g(x). Without any completed trial yet it takes
 * the next design point instead.
 *
 * The 'tpe' strategy: a start-up design (Sobol: 10% of the budget, at least Optuna's 10
 * trials, at most half the budget), then TPE.
 */
import { type RandomState, SeededRandom } from '../random.ts';
import type { Proposal, Sampler, StrategyDefinition, StudyView } from '../sampler.ts';
import { createTpeCache, suggestTpe, type TpeOptions } from '../tpe.ts';
import { SobolSampler, type SobolSamplerState } from './sobolSampler.ts';

/** TPE's own start-up design: Optuna's default, which measured best here too. */
const TPE_MIN_STARTUP = 10;

export type TpeSamplerState = { random: RandomState };

export class TpeSampler implements Sampler {
  private readonly random: SeededRandom;
  /** Kernels from the previous fit (derived state, never in a snapshot: proposals are the same without it). */
  private readonly cache = createTpeCache();

  constructor(
    private readonly options: TpeOptions,
    state: TpeSamplerState,
    /** Where proposals come from before any trial has completed. */
    private readonly design: SobolSampler,
  ) {
    this.random = SeededRandom.fromState(state.random);
  }

  static fresh(options: TpeOptions, seed: number, design: SobolSampler): TpeSampler {
    return new TpeSampler(options, { random: new SeededRandom(seed, 'tpe').state() }, design);
  }

  propose(view: StudyView): Proposal {
    const history = view.history();
    if (history.length === 0) return this.design.propose();
    const suggestion = suggestTpe(view.shape, history, view.pendingPoints(), this.random, this.options, view.gpuKde, this.cache);
    return { point: suggestion.point, label: 'tpe' };
  }

  observe(): void {}

  snapshot(): TpeSamplerState {
    return { random: this.random.state() };
  }
}

export type TpeStrategyState = { design: SobolSamplerState; tpe: TpeSamplerState };

/** The 'tpe' strategy: its start-up design, then TPE. */
class TpeStrategy implements Sampler {
  constructor(
    private readonly design: SobolSampler,
    private readonly tpe: TpeSampler,
    private readonly startup: number,
  ) {}

  propose(view: StudyView): Proposal {
    return view.asked() >= this.startup ? this.tpe.propose(view) : this.design.propose();
  }

  observe(): void {}

  snapshot(): TpeStrategyState {
    return { design: this.design.snapshot(), tpe: this.tpe.snapshot() };
  }
}

/** Start-up trials of the 'tpe' strategy for a budget. */
export function tpeStartupTrials(budget: number, probeFraction: number): number {
  const half = Math.max(1, Math.floor(budget / 2));
  return Math.min(half, Math.max(Math.round(probeFraction * budget), TPE_MIN_STARTUP));
}

export const TPE_STRATEGY: StrategyDefinition = {
  objectives: 'one',
  create: (options, space, existing) => {
    const design = new SobolSampler(space.dimension, options.seed, { index: existing.asked });
    return new TpeStrategy(design, TpeSampler.fresh(options.tpe, options.seed, design), tpeStartupTrials(options.budget, options.probe.fraction));
  },
  restore: (state, options, space) => {
    const s = state as TpeStrategyState;
    const design = new SobolSampler(space.dimension, options.seed, s.design);
    return new TpeStrategy(design, new TpeSampler(options.tpe, s.tpe, design), tpeStartupTrials(options.budget, options.probe.fraction));
  },
  fromVersion1: (v1, options, space) => {
    const design = new SobolSampler(space.dimension, options.seed, { index: v1.sobolIndex });
    return new TpeStrategy(design, new TpeSampler(options.tpe, { random: v1.tpeRandom }, design), tpeStartupTrials(options.budget, options.probe.fraction));
  },
  describe: () => ({ initial: 'tpe' }),
};
