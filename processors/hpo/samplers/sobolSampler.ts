/**
 * Scrambled Sobol points in order (sobol.ts): the 'sobol' strategy, and the design that other
 * samplers draw start-up, probe and fallback points from. One design per study: a composite
 * hands the same SobolSampler to the samplers it contains, so no design point repeats.
 */
import type { Proposal, Sampler, StrategyDefinition, StudyView } from '../sampler.ts';
import { SobolSequence } from '../sobol.ts';

export type SobolSamplerState = {
  /** Index of the next point. */
  index: number;
};

export class SobolSampler implements Sampler {
  private readonly sequence: SobolSequence;
  private index: number;

  constructor(dimension: number, seed: number, state: SobolSamplerState = { index: 0 }) {
    this.sequence = new SobolSequence(dimension, { seed });
    this.index = state.index;
  }

  /** The next design point. */
  next(): Float64Array {
    return this.sequence.point(this.index++);
  }

  propose(_view?: StudyView): Proposal {
    return { point: this.next(), label: 'sobol' };
  }

  observe(): void {}

  snapshot(): SobolSamplerState {
    return { index: this.index };
  }
}

export const SOBOL_STRATEGY: StrategyDefinition = {
  objectives: 'any',
  create: (options, space, existing) => new SobolSampler(space.dimension, options.seed, { index: existing.asked }),
  restore: (state, options, space) => new SobolSampler(space.dimension, options.seed, state as unknown as SobolSamplerState),
  fromVersion1: (v1, options, space) => new SobolSampler(space.dimension, options.seed, { index: v1.sobolIndex }),
  describe: () => ({ initial: 'sobol' }),
};
