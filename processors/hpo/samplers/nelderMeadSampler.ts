/**
 * Nelder–Mead as a sampler (the state machine is nelderMead.ts): it proposes the vertices its
 * simplex asks for, one at a time where a step needs one result, and proposes nothing (null)
 * while that result is pending; restarts are audited. Whoever owns it decides where a simplex
 * starts (`begin`).
 *
 * The 'nelder-mead' strategy: a simplex around the first design point; while a step waits on a
 * pending trial (parallel trials), TPE proposes instead (the design before any result).
 */
import { NelderMead, type NelderMeadOptions, type NelderMeadState } from '../nelderMead.ts';
import type { Observation, Proposal, Sampler, StrategyDefinition, StudyView } from '../sampler.ts';
import { SobolSampler, type SobolSamplerState } from './sobolSampler.ts';
import { TpeSampler, type TpeSamplerState } from './tpeSampler.ts';

export type NelderMeadSamplerState = { simplex: NelderMeadState | null };

export class NelderMeadSampler implements Sampler {
  private simplex: NelderMead | null;

  constructor(state: NelderMeadSamplerState = { simplex: null }) {
    this.simplex = state.simplex ? NelderMead.restore(state.simplex) : null;
  }

  get started(): boolean {
    return this.simplex !== null;
  }

  /** Starts (or replaces) the simplex. */
  begin(simplex: NelderMead): void {
    this.simplex = simplex;
  }

  /** Forgets the simplex (a result still pending for it goes to the next simplex's request of the same id). */
  reset(): void {
    this.simplex = null;
  }

  propose(_view?: StudyView): Proposal | null {
    const next = this.simplex?.ask();
    return next ? { point: next.point, label: 'nelder-mead', tag: { kind: 'nelder-mead', requestId: next.requestId } } : null;
  }

  observe(view: StudyView, observation: Observation): void {
    const tag = observation.tag;
    if (!this.simplex || tag?.kind !== 'nelder-mead') return;
    for (const event of this.simplex.tell(tag.requestId as number, observation.losses ? (observation.losses[0] as number) : null)) view.audit('nm-restart', { ...event });
  }

  snapshot(): NelderMeadSamplerState {
    return { simplex: this.simplex ? this.simplex.state() : null };
  }
}

export type NelderMeadStrategyState = { design: SobolSamplerState; simplex: NelderMeadSamplerState; tpe: TpeSamplerState };

/** The 'nelder-mead' strategy: the simplex, and TPE while it waits. */
class NelderMeadStrategy implements Sampler {
  constructor(
    private readonly options: NelderMeadOptions,
    private readonly design: SobolSampler,
    private readonly simplex: NelderMeadSampler,
    private readonly tpe: TpeSampler,
  ) {}

  propose(view: StudyView): Proposal {
    // Start from the first (seeded) design point, not the centre: a fixed start would make every seed the same run.
    if (!this.simplex.started) this.simplex.begin(NelderMead.create(view.space.dimension, { point: Array.from(this.design.next()), loss: null }, this.options));
    const proposal = this.simplex.propose();
    if (proposal) return proposal;
    const fallback = this.tpe.propose(view);
    view.audit('fallback', { from: 'nelder-mead', to: fallback.label, reason: 'the simplex waits for a pending result' });
    return fallback;
  }

  observe(view: StudyView, observation: Observation): void {
    this.simplex.observe(view, observation);
  }

  snapshot(): NelderMeadStrategyState {
    return { design: this.design.snapshot(), simplex: this.simplex.snapshot(), tpe: this.tpe.snapshot() };
  }
}

export const NELDER_MEAD_STRATEGY: StrategyDefinition = {
  objectives: 'one',
  create: (options, space, existing) => {
    const design = new SobolSampler(space.dimension, options.seed, { index: existing.asked });
    return new NelderMeadStrategy(options.nelderMead, design, new NelderMeadSampler(), TpeSampler.fresh(options.tpe, options.seed, design));
  },
  restore: (state, options, space) => {
    const s = state as NelderMeadStrategyState;
    const design = new SobolSampler(space.dimension, options.seed, s.design);
    return new NelderMeadStrategy(options.nelderMead, design, new NelderMeadSampler(s.simplex), new TpeSampler(options.tpe, s.tpe, design));
  },
  fromVersion1: (v1, options, space) => {
    const design = new SobolSampler(space.dimension, options.seed, { index: v1.sobolIndex });
    return new NelderMeadStrategy(options.nelderMead, design, new NelderMeadSampler({ simplex: v1.nelderMead as NelderMeadState | null }), new TpeSampler(options.tpe, { random: v1.tpeRandom }, design));
  },
  describe: () => ({ initial: 'nelder-mead' }),
};
