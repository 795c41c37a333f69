/** Independent uniform points: the 'random' strategy (a baseline, and what a quick sweep wants). */
import { type RandomState, SeededRandom } from '../random.ts';
import type { Proposal, Sampler, StrategyDefinition, StudyView } from '../sampler.ts';

export type RandomSamplerState = { random: RandomState };

export class RandomSampler implements Sampler {
  private readonly random: SeededRandom;

  constructor(private readonly dimension: number, state: RandomSamplerState) {
    this.random = SeededRandom.fromState(state.random);
  }

  static fresh(dimension: number, seed: number): RandomSampler {
    return new RandomSampler(dimension, { random: new SeededRandom(seed, 'random-strategy').state() });
  }

  propose(_view?: StudyView): Proposal {
    return { point: Array.from({ length: this.dimension }, () => this.random.float()), label: 'random' };
  }

  observe(): void {}

  snapshot(): RandomSamplerState {
    return { random: this.random.state() };
  }
}

export const RANDOM_STRATEGY: StrategyDefinition = {
  objectives: 'any',
  create: (options, space) => RandomSampler.fresh(space.dimension, options.seed),
  restore: (state, _options, space) => new RandomSampler(space.dimension, state as RandomSamplerState),
  fromVersion1: (v1, _options, space) => new RandomSampler(space.dimension, { random: v1.random }),
  describe: () => ({ initial: 'random' }),
};
