/**
 * The one interface every strategy sits behind, as Optuna's samplers do. A study keeps the
 * trials (history, best, Pareto front, pending), the guardrails and the audit; a sampler
 * decides where the next trial goes and owns all the state that decision needs.
 *
 * Lifecycle, for each trial: the study calls `propose(view)`, applies its guardrails to the
 * point, and hands the trial out; when the trial's result arrives (or it fails) the study
 * records it and then calls `observe(view, observation)` with the tag the proposal carried.
 * `snapshot()` may be called between any two calls and returns plain JSON; the strategy's
 * definition (samplers/index.ts) restores a sampler from it, and the restored sampler makes
 * exactly the proposals the original would have made. Samplers draw randomness only from
 * their own seeded streams (random.ts), never from the clock or Math.random.
 *
 * `propose` may return null: the sampler cannot propose now (a Nelder–Mead step waits on a
 * pending result, TPE has no history yet). A composite sampler then asks another one; the
 * study only ever talks to the top-level sampler of its strategy, which always proposes.
 */
import type { AuditKind } from './audit.ts';
import type { ResolvedOptions } from './options.ts';
import type { SpaceShape } from './parzenEstimator.ts';
import type { SearchSpace } from './space.ts';
import type { GpuKdeProvider, ScoredPoint } from './tpe.ts';

/** Plain JSON: what a proposal carries for its sampler until the trial is observed. */
export type SamplerTag = Readonly<Record<string, string | number | boolean | null>>;

/** Plain JSON state of a sampler. */
export type SamplerState = Readonly<Record<string, unknown>>;

export interface BestTrial {
  readonly number: number;
  readonly point: readonly number[];
  /** The first objective, minimised (negated for MAXIMIZE). */
  readonly loss: number;
  /** The first objective as told. */
  readonly value: number;
}

/** What a sampler sees of its study during one call. Valid only during that call. */
export interface StudyView {
  readonly space: SearchSpace;
  readonly shape: SpaceShape;
  readonly options: Readonly<ResolvedOptions>;
  /** The trial being proposed (at propose) or observed (at observe). */
  readonly trial: number;
  /** Trials asked so far (at propose: the number of the trial being proposed). */
  asked(): number;
  /** Completed trials as the models see them: canonical point and first loss, chronological, at most maxHistory. */
  history(): readonly ScoredPoint[];
  /** The best completed trial (first objective), or null before any. */
  best(): BestTrial | null;
  /** The best completed trial numbered `from` or later that the history still holds, or null. */
  bestSince(from: number): BestTrial | null;
  /** The points of the trials pending now, in the order they were asked. */
  pendingPoints(): ArrayLike<number>[];
  /** Writes an audit record for `trial`. */
  audit(kind: AuditKind, detail: Record<string, unknown>): void;
  /** gpu.js's KDE, for TPE (a hook: tests and benches swap it). */
  readonly gpuKde: GpuKdeProvider;
}

export interface Proposal {
  /** A point of the unit cube (the study applies its guardrails, then decodes it). */
  readonly point: ArrayLike<number>;
  /** What proposed it: the trial's `strategy` ('sobol', 'tpe', 'trust-region', ...). */
  readonly label: string;
  readonly tag?: SamplerTag;
}

export interface Observation {
  readonly number: number;
  /** The point that was evaluated (canonical: grid values and choices at their bucket centres). */
  readonly point: readonly number[];
  /** One minimised value per objective, or null for a failed trial. */
  readonly losses: readonly number[] | null;
  /** The tag of the proposal; absent for a trial the sampler did not propose (a rollback). */
  readonly tag: SamplerTag | undefined;
}

export interface Sampler {
  propose(view: StudyView): Proposal | null;
  observe(view: StudyView, observation: Observation): void;
  snapshot(): SamplerState;
}

/** The parts of a version-1 study snapshot (one object for every strategy) that samplers read. */
export interface Version1SamplerFields {
  sobolIndex: number;
  random: [number, number, number, number];
  tpeRandom: [number, number, number, number];
  trRandom?: [number, number, number, number];
  phase: 'probe' | 'refine';
  landscape: 'STRUCTURED' | 'CHAOTIC' | null;
  refiner: 'tpe' | 'nelder-mead' | 'trust-region' | null;
  polishing: boolean;
  probeResults: Array<{ point: number[]; loss: number }>;
  probeFinished: number;
  nelderMead: unknown;
  trustRegion?: { radius: number; restarts: number; exploreUntil: number; pendingTrial: number | null } | null;
  nsga2: unknown;
}

/** A strategy: how to make its top-level sampler fresh, from its snapshot, or from a version-1 study snapshot. */
export interface StrategyDefinition {
  /** How many objectives it optimises: exactly one, or any number. */
  readonly objectives: 'one' | 'any';
  /**
   * A fresh sampler. `asked`: trials the study already has (non-zero when a study switches to
   * this strategy, see restoreStudy); `history`: their completed results.
   */
  create(options: Readonly<ResolvedOptions>, space: SearchSpace, existing: { asked: number; history: readonly ScoredPoint[] }): Sampler;
  restore(state: SamplerState, options: Readonly<ResolvedOptions>, space: SearchSpace): Sampler;
  fromVersion1(fields: Version1SamplerFields, options: Readonly<ResolvedOptions>, space: SearchSpace): Sampler;
  /** What the study's first audit record says about the strategy. */
  describe(options: Readonly<ResolvedOptions>, space: SearchSpace): Record<string, unknown>;
}
