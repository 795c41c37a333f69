/**
 * NSGA-II as a sampler (the algorithm is nsga2.ts): its first population from the design,
 * then children of the current parents; told results join the next generation (audited).
 * The 'nsga2' strategy, and 'auto' with several objectives.
 */
import { Nsga2, type Nsga2Options, type Nsga2State } from '../nsga2.ts';
import type { Observation, Proposal, Sampler, StrategyDefinition, StudyView } from '../sampler.ts';
import type { SearchSpace } from '../space.ts';
import { SobolSampler, type SobolSamplerState } from './sobolSampler.ts';

export type Nsga2SamplerState = { nsga2: Nsga2State };

export class Nsga2Sampler implements Sampler {
  private readonly nsga: Nsga2;

  constructor(
    state: Nsga2SamplerState,
    private readonly design: SobolSampler,
  ) {
    this.nsga = Nsga2.restore(state.nsga2);
  }

  static fresh(dimension: number, seed: number, options: Nsga2Options, design: SobolSampler, choiceCounts: readonly number[] = []): Nsga2Sampler {
    return new Nsga2Sampler({ nsga2: Nsga2.create(dimension, seed, options, choiceCounts).state() }, design);
  }

  propose(_view?: StudyView): Proposal {
    if (this.nsga.needsInitialDesign()) return { point: this.design.next(), label: 'sobol', tag: { kind: 'nsga2-initial' } };
    return { point: this.nsga.askChild(), label: 'nsga2', tag: { kind: 'nsga2' } };
  }

  observe(view: StudyView, observation: Observation): void {
    const kind = observation.tag?.kind;
    if ((kind !== 'nsga2' && kind !== 'nsga2-initial') || !observation.losses) return;
    if (this.nsga.tell(observation.point, observation.losses, observation.number)) view.audit('generation', { generation: this.nsga.generation });
  }

  snapshot(): Nsga2SamplerState {
    return { nsga2: this.nsga.state() };
  }
}

/** Per dimension of the space: its number of choices (0: numeric). */
export function choiceCountsOf(space: SearchSpace): number[] {
  return Array.from({ length: space.dimension }, (_, k) => space.choiceCount(k));
}

export type Nsga2StrategyState = { design: SobolSamplerState; nsga2: Nsga2SamplerState };

class Nsga2Strategy implements Sampler {
  constructor(
    private readonly design: SobolSampler,
    private readonly nsga: Nsga2Sampler,
  ) {}

  propose(view: StudyView): Proposal {
    return this.nsga.propose(view);
  }

  observe(view: StudyView, observation: Observation): void {
    this.nsga.observe(view, observation);
  }

  snapshot(): Nsga2StrategyState {
    return { design: this.design.snapshot(), nsga2: this.nsga.snapshot() };
  }
}

export const NSGA2_STRATEGY: StrategyDefinition = {
  objectives: 'any',
  create: (options, space, existing) => {
    const design = new SobolSampler(space.dimension, options.seed, { index: existing.asked });
    return new Nsga2Strategy(design, Nsga2Sampler.fresh(space.dimension, options.seed, options.nsga2, design, choiceCountsOf(space)));
  },
  restore: (state, options, space) => {
    const s = state as Nsga2StrategyState;
    const design = new SobolSampler(space.dimension, options.seed, s.design);
    return new Nsga2Strategy(design, new Nsga2Sampler(s.nsga2, design));
  },
  fromVersion1: (v1, options, space) => {
    const design = new SobolSampler(space.dimension, options.seed, { index: v1.sobolIndex });
    const nsga = v1.nsga2 ? new Nsga2Sampler({ nsga2: v1.nsga2 as Nsga2State }, design) : Nsga2Sampler.fresh(space.dimension, options.seed, options.nsga2, design, choiceCountsOf(space));
    return new Nsga2Strategy(design, nsga);
  },
  describe: () => ({ initial: 'nsga2' }),
};
