/**
 * A hyperparameter study: the engine's public face. Pure state, no I/O, no clock: the same
 * seed and the same sequence of asks and tells give the same suggestions, whatever the
 * timing, and `snapshot()` / `restoreStudy()` round-trip the whole state through JSON.
 *
 * Lifecycle: `createStudy(options)` validates everything (InvalidStudyError names the bad
 * field). Then, any number of times and in any order the caller's events arrive:
 * - `ask()` while `canAsk()` (budget left, fewer than `parallelism` trials pending);
 * - `tell(trialId, value)` once per asked trial: a number (one objective), an array (one per
 *   objective), or null for a failed trial (`markFailed`); NaN and infinities count as failed.
 * `isDone()` once the budget is asked and every trial told.
 *
 * Strategies (`strategy`):
 * - 'auto' (default): one objective: a scrambled Sobol probe (10% of the budget, at least 20
 *   and 2d + 1 points, at most half the budget), then the landscape is classified (landscape.ts).
 *   STRUCTURED: a local method from the probe's best points. CHAOTIC: TPE, and for the last
 *   part of the budget (`auto.polishFraction`) the local method polishing the best point. The
 *   local method: Nelder–Mead with up to 2 numeric dimensions, above that the quadratic trust
 *   region (trustRegion.ts), which hands over to TPE for a few trials each time its region
 *   collapses. Two or more objectives: NSGA-II.
 * - 'tpe', 'nelder-mead', 'nsga2', 'sobol', 'random': that strategy alone ('tpe' starts from
 *   a Sobol design; 'nsga2' takes its first population from Sobol).
 *
 * Parallel trials: TPE treats pending points as bad observations (constant liar); Nelder–Mead
 * asks each vertex once and, while its next point waits on a result, the study asks TPE
 * instead (Sobol before any result), and so does the trust region while its step is pending;
 * NSGA-II breeds from the current parents.
 *
 * Bounded history: the models see at most `maxHistory` completed trials; past that, the oldest
 * trial that is not among the best quarter (by loss; for several objectives, the Pareto
 * archive) is dropped. The best trial and the Pareto front are kept apart and never dropped
 * (the front itself is capped at `maxHistory`, dropping the most crowded points).
 *
 * Guardrails (optional), applied to every suggestion and each recorded in the audit log:
 * `bounds` clamps parameters into narrower ranges; `maxStep` limits the change of each
 * parameter from the best configuration (unit-cube units); `rollbackAfter` makes the next ask
 * return the best configuration after that many consecutive regressions (told values worse
 * than the best so far).
 *
 * @example
 * const study = createStudy({ params, objectives: [{ name: 'loss', direction: 'MINIMIZE' }], budget: 100, seed: 7 });
 * while (!study.isDone()) {
 *   const trial = study.ask();
 *   study.tell(trial.trialId, train(trial.params));
 * }
 * study.best();
 */
import type { HpoObjective } from '../../schemas/generated/records.ts';
import { InvalidStudyError, StudyStateError } from './errors.ts';
import { DEFAULT_KDE_CHOOSER, type KdeChooserOptions } from './kde.ts';
import { classifyLandscape, DEFAULT_LANDSCAPE_OPTIONS, type Landscape, type LandscapeOptions } from './landscape.ts';
import { DEFAULT_NELDER_MEAD_OPTIONS, NelderMead, type NelderMeadOptions, type NelderMeadState } from './nelderMead.ts';
import { crowdingDistance, DEFAULT_NSGA2_OPTIONS, dominates, Nsga2, type Nsga2Options, type Nsga2State } from './nsga2.ts';
import { type RandomState, SeededRandom } from './random.ts';
import { SobolSequence } from './sobol.ts';
import { type Configuration, type ParamSpec, SearchSpace } from './space.ts';
import { createTpeCache, DEFAULT_TPE_OPTIONS, type GpuKdeProvider, type ScoredPoint, suggestTpe, type TpeOptions, defaultGpuKdeProvider } from './tpe.ts';
import { DEFAULT_TRUST_REGION_OPTIONS, proposeTrustRegion, type TrustRegionOptions } from './trustRegion.ts';

export type StrategyName = 'auto' | 'tpe' | 'nelder-mead' | 'sobol' | 'random' | 'nsga2';
export const STRATEGY_NAMES: readonly StrategyName[] = ['auto', 'tpe', 'nelder-mead', 'sobol', 'random', 'nsga2'];

/** An objective, exactly the Avro record `artenic.HpoObjective`. */
export type ObjectiveSpec = HpoObjective;

export interface GuardrailOptions {
  /** Narrower [low, high] per numeric parameter; suggestions are clamped into it. */
  readonly bounds?: Readonly<Record<string, { readonly low: number; readonly high: number }>>;
  /** Largest change of any parameter from the best configuration, in unit-cube units (0, 1]. */
  readonly maxStep?: number;
  /** Consecutive regressions after which the next ask returns the best configuration. */
  readonly rollbackAfter?: number;
}

export interface ProbeOptions {
  /** Share of the budget spent on the Sobol probe of 'auto' and the start-up design of 'tpe'. */
  readonly fraction: number;
  /** The 'auto' probe has at least this many points (default 20) and 2d + 1, capped at half the budget. TPE's start-up needs 10. */
  readonly min: number;
}

export interface StudyOptions {
  readonly params: readonly ParamSpec[];
  readonly objectives: readonly ObjectiveSpec[];
  /** Trials to run in total (failed ones included). */
  readonly budget: number;
  readonly seed: number;
  readonly strategy?: StrategyName;
  /** Trials that may be pending at once. Default 1. */
  readonly parallelism?: number;
  /** Completed trials the models keep. Default 1000. */
  readonly maxHistory?: number;
  readonly guardrails?: GuardrailOptions;
  readonly probe?: Partial<ProbeOptions>;
  /**
   * 'auto' tuning. `structured`: what refines a STRUCTURED landscape (default 'local': the local
   * method). `local`: the local method ('auto', the default: Nelder–Mead with up to 2 numeric
   * dimensions, the quadratic trust region above). `polishFraction`: when the refiner is TPE,
   * the last share of the budget goes to the local method around the best point (a
   * Nelder–Mead simplex of `polishStep`). Defaults measured in bench/hpo-quality.ts.
   */
  readonly auto?: {
    readonly structured?: 'local' | 'tpe' | 'nelder-mead' | 'trust-region';
    readonly local?: 'auto' | 'nelder-mead' | 'trust-region';
    readonly polishFraction?: number;
    readonly polishStep?: number;
  };
  readonly tpe?: Partial<TpeOptions>;
  readonly trustRegion?: Partial<TrustRegionOptions>;
  readonly nelderMead?: Partial<NelderMeadOptions>;
  readonly nsga2?: Partial<Nsga2Options>;
  readonly landscape?: Partial<LandscapeOptions>;
}

/** Hooks that are not state: never in a snapshot. */
export interface StudyHooks {
  /** Called with every audit record as it is written. */
  readonly onAudit?: (record: AuditRecord) => void;
  /** gpu.js KDE supplier (tests and benches swap it). */
  readonly gpuKde?: GpuKdeProvider;
}

export interface Trial {
  readonly trialId: string;
  readonly number: number;
  readonly params: Configuration;
  /** What proposed it: 'sobol', 'random', 'tpe', 'nelder-mead', 'nsga2', 'rollback'. */
  readonly strategy: string;
}

export interface TrialResult extends Trial {
  /** One per objective, as told. */
  readonly values: readonly number[];
  /** values[0]. */
  readonly value: number;
}

export type AuditKind =
  | 'phase'
  | 'strategy'
  | 'landscape'
  | 'guardrail-bounds'
  | 'guardrail-step'
  | 'rollback'
  | 'nm-restart'
  | 'tr-restart'
  | 'fallback'
  | 'trial-failed'
  | 'generation';

export interface AuditRecord {
  /** The trial the decision belongs to (for decisions at ask time, the trial being asked). */
  readonly trial: number;
  readonly kind: AuditKind;
  readonly detail: Record<string, unknown>;
}

const SNAPSHOT_VERSION = 1;
/** TPE's own start-up design ('tpe' strategy): Optuna's default, which measured best here too. */
const TPE_MIN_STARTUP = 10;
const AUDIT_LOG_LIMIT = 1000;

interface ResolvedOptions {
  params: ParamSpec[];
  objectives: ObjectiveSpec[];
  budget: number;
  seed: number;
  strategy: StrategyName;
  parallelism: number;
  maxHistory: number;
  guardrails: GuardrailOptions;
  probe: ProbeOptions;
  auto: { structured: 'local' | 'tpe' | 'nelder-mead' | 'trust-region'; local: 'auto' | 'nelder-mead' | 'trust-region'; polishFraction: number; polishStep: number };
  tpe: TpeOptions;
  trustRegion: TrustRegionOptions;
  nelderMead: NelderMeadOptions;
  nsga2: Nsga2Options;
  landscape: LandscapeOptions;
}

type Origin =
  | { kind: 'sobol' | 'random' | 'tpe' | 'nsga2' | 'nsga2-initial' | 'rollback' | 'probe' }
  | { kind: 'nelder-mead'; requestId: number }
  | { kind: 'trust-region'; centerLoss: number };

/** The trust region's state between asks (see trustRegion.ts). */
export interface TrustRegionRun {
  radius: number;
  restarts: number;
  /** After a collapse, asks before this trial number go to TPE. */
  exploreUntil: number;
  /** The trial number of the pending step, if any. */
  pendingTrial: number | null;
}

interface PendingTrial {
  number: number;
  point: number[];
  params: Configuration;
  strategy: string;
  origin: Origin;
}

interface CompletedTrial {
  number: number;
  point: number[];
  params: Configuration;
  strategy: string;
  values: number[];
  losses: number[];
}

/** The JSON form of a study (what the changelog stores). */
export interface StudySnapshot {
  version: number;
  options: ResolvedOptions;
  nextNumber: number;
  failed: number;
  sobolIndex: number;
  random: RandomState;
  tpeRandom: RandomState;
  phase: 'probe' | 'refine';
  landscape: Landscape | null;
  refiner: 'tpe' | 'nelder-mead' | 'trust-region' | null;
  /** The local method polishing the best point (the end of an 'auto' run that refined with TPE). */
  polishing: boolean;
  probeResults: Array<{ point: number[]; loss: number }>;
  probeFinished: number;
  pending: PendingTrial[];
  history: CompletedTrial[];
  best: CompletedTrial | null;
  pareto: CompletedTrial[];
  consecutiveRegressions: number;
  rollbackQueued: boolean;
  nelderMead: NelderMeadState | null;
  trustRegion: TrustRegionRun | null;
  /** The trust region's jitter stream. */
  trRandom: RandomState;
  nsga2: Nsga2State | null;
  audit: AuditRecord[];
}

export interface Study {
  readonly options: Readonly<ResolvedOptions>;
  readonly auditLog: readonly AuditRecord[];
  /** True when ask() would succeed: budget left and fewer than `parallelism` trials pending. */
  canAsk(): boolean;
  ask(): Trial;
  tell(trialId: string, value: number | readonly number[] | null): void;
  markFailed(trialId: string): void;
  best(): TrialResult | null;
  paretoFront(): TrialResult[];
  isDone(): boolean;
  pending(): Trial[];
  /** Trials asked so far. */
  asked(): number;
  snapshot(): StudySnapshot;
}

export function createStudy(options: StudyOptions, hooks: StudyHooks = {}): Study {
  const resolved = resolveOptions(options);
  return new StudyEngine(resolved, hooks, null);
}

/** A study from its snapshot; the next asks equal the original's. */
export function restoreStudy(snapshot: StudySnapshot, hooks: StudyHooks = {}): Study {
  if (!snapshot || snapshot.version !== SNAPSHOT_VERSION) throw new StudyStateError(`snapshot version ${String(snapshot?.version)} is not ${SNAPSHOT_VERSION}`);
  const resolved = resolveOptions(snapshot.options);
  return new StudyEngine(resolved, hooks, structuredClone(snapshot));
}

function resolveOptions(options: StudyOptions): ResolvedOptions {
  if (!options || typeof options !== 'object') throw new InvalidStudyError('options: expected an object');
  const space = new SearchSpace(options.params); // validates the params
  const objectives = options.objectives;
  if (!Array.isArray(objectives) || objectives.length === 0) throw new InvalidStudyError('objectives: at least one objective is needed');
  const names = new Set<string>();
  for (const [i, o] of objectives.entries()) {
    if (!o || typeof o.name !== 'string' || o.name.length === 0) throw new InvalidStudyError(`objectives[${i}]: name must be a non-empty string`);
    if (names.has(o.name)) throw new InvalidStudyError(`objectives[${i}]: duplicate objective name '${o.name}'`);
    names.add(o.name);
    if (o.direction !== 'MINIMIZE' && o.direction !== 'MAXIMIZE') throw new InvalidStudyError(`objectives[${i}] (${o.name}): direction must be MINIMIZE or MAXIMIZE`);
  }
  if (!Number.isInteger(options.budget) || options.budget < 1) throw new InvalidStudyError(`budget: must be an integer >= 1, got ${String(options.budget)}`);
  if (typeof options.seed !== 'number' || !Number.isFinite(options.seed)) throw new InvalidStudyError(`seed: must be a finite number, got ${String(options.seed)}`);
  const strategy = options.strategy ?? 'auto';
  if (!STRATEGY_NAMES.includes(strategy)) throw new InvalidStudyError(`strategy: must be one of ${STRATEGY_NAMES.join(', ')}, got '${String(strategy)}'`);
  if (objectives.length > 1 && (strategy === 'tpe' || strategy === 'nelder-mead')) {
    throw new InvalidStudyError(`strategy: '${strategy}' optimises one objective; with ${objectives.length} objectives use 'nsga2' or 'auto'`);
  }
  const parallelism = options.parallelism ?? 1;
  if (!Number.isInteger(parallelism) || parallelism < 1) throw new InvalidStudyError(`parallelism: must be an integer >= 1, got ${String(parallelism)}`);
  const maxHistory = options.maxHistory ?? 1000;
  if (!Number.isInteger(maxHistory) || maxHistory < 10) throw new InvalidStudyError(`maxHistory: must be an integer >= 10, got ${String(maxHistory)}`);
  const guardrails = options.guardrails ?? {};
  for (const [name, b] of Object.entries(guardrails.bounds ?? {})) {
    const spec = space.params.find((p) => p.name === name);
    if (!spec) throw new InvalidStudyError(`guardrails.bounds.${name}: no such parameter`);
    if (spec.kind === 'CATEGORICAL') throw new InvalidStudyError(`guardrails.bounds.${name}: bounds apply to numeric parameters only`);
    if (!(b.low <= b.high) || b.low < (spec.low as number) || b.high > (spec.high as number)) {
      throw new InvalidStudyError(`guardrails.bounds.${name}: need ${spec.low} <= low <= high <= ${spec.high}, got [${b.low}, ${b.high}]`);
    }
  }
  if (guardrails.maxStep !== undefined && !(guardrails.maxStep > 0 && guardrails.maxStep <= 1)) throw new InvalidStudyError(`guardrails.maxStep: must be in (0, 1], got ${guardrails.maxStep}`);
  if (guardrails.rollbackAfter !== undefined && !(Number.isInteger(guardrails.rollbackAfter) && guardrails.rollbackAfter >= 1)) {
    throw new InvalidStudyError(`guardrails.rollbackAfter: must be an integer >= 1, got ${guardrails.rollbackAfter}`);
  }
  const probe = { fraction: 0.1, min: 20, ...options.probe };
  if (!(probe.fraction >= 0 && probe.fraction <= 1)) throw new InvalidStudyError(`probe.fraction: must be in [0, 1], got ${probe.fraction}`);
  if (!(Number.isInteger(probe.min) && probe.min >= 1)) throw new InvalidStudyError(`probe.min: must be an integer >= 1, got ${probe.min}`);
  const structured = options.auto?.structured ?? 'local';
  if (!['local', 'tpe', 'nelder-mead', 'trust-region'].includes(structured)) {
    throw new InvalidStudyError(`auto.structured: must be 'local', 'tpe', 'nelder-mead' or 'trust-region', got '${String(structured)}'`);
  }
  const local = options.auto?.local ?? 'auto';
  if (!['auto', 'nelder-mead', 'trust-region'].includes(local)) throw new InvalidStudyError(`auto.local: must be 'auto', 'nelder-mead' or 'trust-region', got '${String(local)}'`);
  const polishFraction = options.auto?.polishFraction ?? 0.5;
  const polishStep = options.auto?.polishStep ?? 0.05;
  if (!(polishFraction >= 0 && polishFraction < 1)) throw new InvalidStudyError(`auto.polishFraction: must be in [0, 1), got ${polishFraction}`);
  if (!(polishStep > 0 && polishStep <= 1)) throw new InvalidStudyError(`auto.polishStep: must be in (0, 1], got ${polishStep}`);
  const tpe: TpeOptions = { ...DEFAULT_TPE_OPTIONS, ...options.tpe, kde: { ...DEFAULT_KDE_CHOOSER, ...options.tpe?.kde } as KdeChooserOptions };
  if (!(Number.isInteger(tpe.candidates) && tpe.candidates >= 1)) throw new InvalidStudyError(`tpe.candidates: must be an integer >= 1, got ${tpe.candidates}`);
  if (!(tpe.gamma > 0 && tpe.gamma < 1)) throw new InvalidStudyError(`tpe.gamma: must be in (0, 1), got ${tpe.gamma}`);
  if (!['auto', 'ts', 'gpujs'].includes(tpe.kde.backend)) throw new InvalidStudyError(`tpe.kde.backend: must be auto, ts or gpujs, got '${String(tpe.kde.backend)}'`);
  const trustRegion: TrustRegionOptions = { ...DEFAULT_TRUST_REGION_OPTIONS, ...options.trustRegion };
  if (!(trustRegion.minRadius > 0 && trustRegion.minRadius <= trustRegion.initialRadius && trustRegion.initialRadius <= trustRegion.maxRadius)) {
    throw new InvalidStudyError(`trustRegion: need 0 < minRadius <= initialRadius <= maxRadius, got ${trustRegion.minRadius}, ${trustRegion.initialRadius}, ${trustRegion.maxRadius}`);
  }
  if (!(trustRegion.grow >= 1 && trustRegion.shrink > 0 && trustRegion.shrink < 1)) throw new InvalidStudyError(`trustRegion: need grow >= 1 and 0 < shrink < 1, got ${trustRegion.grow}, ${trustRegion.shrink}`);
  if (!(Number.isInteger(trustRegion.maxFitPoints) && trustRegion.maxFitPoints >= 3)) throw new InvalidStudyError(`trustRegion.maxFitPoints: must be an integer >= 3, got ${trustRegion.maxFitPoints}`);
  if (!(trustRegion.ridge >= 0)) throw new InvalidStudyError(`trustRegion.ridge: must be >= 0, got ${trustRegion.ridge}`);
  if (!(Number.isInteger(trustRegion.exploreTrials) && trustRegion.exploreTrials >= 0)) throw new InvalidStudyError(`trustRegion.exploreTrials: must be an integer >= 0, got ${trustRegion.exploreTrials}`);
  const nsga2 = { ...DEFAULT_NSGA2_OPTIONS, ...options.nsga2 };
  if (!(Number.isInteger(nsga2.populationSize) && nsga2.populationSize >= 4)) throw new InvalidStudyError(`nsga2.populationSize: must be an integer >= 4, got ${nsga2.populationSize}`);
  return {
    params: space.params.map((p) => ({ ...p, choices: [...p.choices] })),
    objectives: objectives.map((o) => ({ name: o.name, direction: o.direction })),
    budget: options.budget,
    seed: options.seed,
    strategy,
    parallelism,
    maxHistory,
    guardrails: structuredClone(guardrails),
    probe,
    auto: { structured, local, polishFraction, polishStep },
    tpe,
    trustRegion,
    nelderMead: { ...DEFAULT_NELDER_MEAD_OPTIONS, ...options.nelderMead },
    nsga2,
    landscape: { ...DEFAULT_LANDSCAPE_OPTIONS, ...options.landscape },
  };
}

class StudyEngine implements Study {
  readonly options: ResolvedOptions;
  private readonly space: SearchSpace;
  private readonly shape: { dimension: number; choiceCounts: number[] };
  private readonly sobol: SobolSequence;
  private readonly hooks: StudyHooks;
  private readonly probeSize: number;
  private readonly startupSize: number;
  private readonly guardLow: Float64Array;
  private readonly guardHigh: Float64Array;
  private s: StudySnapshot;
  private random: SeededRandom;
  private tpeRandom: SeededRandom;
  private trRandom: SeededRandom;
  private nm: NelderMead | null;
  private nsga: Nsga2 | null;
  private readonly pendingById = new Map<string, PendingTrial>();
  /** TPE's kernels from the previous ask (derived state, never in a snapshot). */
  private readonly tpeCache = createTpeCache();
  /** The history as the models see it (point, first loss), kept in step with s.history (derived state). */
  private scored: ScoredPoint[] = [];

  constructor(options: ResolvedOptions, hooks: StudyHooks, snapshot: StudySnapshot | null) {
    this.options = options;
    this.hooks = hooks;
    this.space = new SearchSpace(options.params);
    const d = this.space.dimension;
    this.shape = { dimension: d, choiceCounts: options.params.map((_, k) => this.space.choiceCount(k)) };
    this.sobol = new SobolSequence(d, { seed: options.seed });
    const half = Math.max(1, Math.floor(options.budget / 2));
    // The landscape probe needs 2d + 1 points at least; TPE's start-up design does not.
    const share = Math.round(options.probe.fraction * options.budget);
    this.startupSize = Math.min(half, Math.max(share, TPE_MIN_STARTUP));
    this.probeSize = Math.min(half, Math.max(share, options.probe.min, 2 * d + 1));
    this.guardLow = new Float64Array(d).fill(0);
    this.guardHigh = new Float64Array(d).fill(1);
    for (const [name, b] of Object.entries(options.guardrails.bounds ?? {})) {
      const k = options.params.findIndex((p) => p.name === name);
      const base = this.space.decode(new Float64Array(d).fill(0.5));
      this.guardLow[k] = this.space.encode({ ...base, [name]: b.low })[k] as number;
      this.guardHigh[k] = this.space.encode({ ...base, [name]: b.high })[k] as number;
    }
    this.s = snapshot ?? {
      version: SNAPSHOT_VERSION,
      options,
      nextNumber: 0,
      failed: 0,
      sobolIndex: 0,
      random: new SeededRandom(options.seed, 'random-strategy').state(),
      tpeRandom: new SeededRandom(options.seed, 'tpe').state(),
      phase: 'probe',
      landscape: null,
      refiner: null,
      polishing: false,
      probeResults: [],
      probeFinished: 0,
      pending: [],
      history: [],
      best: null,
      pareto: [],
      consecutiveRegressions: 0,
      rollbackQueued: false,
      nelderMead: null,
      trustRegion: null,
      trRandom: new SeededRandom(options.seed, 'trust-region').state(),
      nsga2: null,
      audit: [],
    };
    // Snapshots from before the trust region have neither field.
    this.s.trustRegion ??= null;
    this.s.trRandom ??= new SeededRandom(options.seed, 'trust-region').state();
    this.s.options = options;
    this.random = SeededRandom.fromState(this.s.random);
    this.tpeRandom = SeededRandom.fromState(this.s.tpeRandom);
    this.trRandom = SeededRandom.fromState(this.s.trRandom);
    this.nm = this.s.nelderMead ? NelderMead.restore(this.s.nelderMead) : null;
    this.nsga = this.s.nsga2 ? Nsga2.restore(this.s.nsga2) : null;
    for (const p of this.s.pending) this.pendingById.set(trialIdOf(p.number), p);
    // Fresh arrays: those of a restored snapshot come out of structuredClone or JSON.parse, and
    // reading them is several times slower than reading arrays built here (measured at d = 200).
    this.scored = this.s.history.map((h) => {
      h.point = Array.from(h.point);
      return { point: h.point, loss: h.losses[0] as number };
    });
    if (!snapshot) {
      const multi = options.objectives.length > 1;
      const initial = options.strategy === 'auto' ? (multi ? 'nsga2' : 'sobol-probe') : options.strategy;
      this.audit(0, 'strategy', { strategy: options.strategy, initial, probeSize: options.strategy === 'auto' && !multi ? this.probeSize : undefined, objectives: options.objectives.length });
    }
  }

  get auditLog(): readonly AuditRecord[] {
    return this.s.audit;
  }

  asked(): number {
    return this.s.nextNumber;
  }

  canAsk(): boolean {
    return this.s.nextNumber < this.options.budget && this.pendingById.size < this.options.parallelism;
  }

  isDone(): boolean {
    return this.s.nextNumber >= this.options.budget && this.pendingById.size === 0;
  }

  pending(): Trial[] {
    return [...this.pendingById.values()].sort((a, b) => a.number - b.number).map(toTrial);
  }

  ask(): Trial {
    if (this.s.nextNumber >= this.options.budget) throw new StudyStateError(`ask: the budget of ${this.options.budget} trials is spent`);
    if (this.pendingById.size >= this.options.parallelism) throw new StudyStateError(`ask: ${this.pendingById.size} trials pending, parallelism is ${this.options.parallelism}; tell a result first`);
    const number = this.s.nextNumber;
    let proposal: { point: ArrayLike<number>; strategy: string; origin: Origin };
    if (this.s.rollbackQueued && this.s.best) {
      this.s.rollbackQueued = false;
      proposal = { point: this.s.best.point, strategy: 'rollback', origin: { kind: 'rollback' } };
      this.audit(number, 'rollback', { toTrial: this.s.best.number, bestValue: this.s.best.values[0], after: this.options.guardrails.rollbackAfter });
    } else {
      proposal = this.propose(number);
      proposal = { ...proposal, point: this.applyGuardrails(proposal.point, number) };
    }
    const params = this.space.decode(proposal.point);
    const trial: PendingTrial = { number, point: Array.from(this.space.encode(params)), params, strategy: proposal.strategy, origin: proposal.origin };
    this.s.nextNumber++;
    this.pendingById.set(trialIdOf(number), trial);
    return toTrial(trial);
  }

  tell(trialId: string, value: number | readonly number[] | null): void {
    const trial = this.pendingById.get(trialId);
    if (!trial) throw new StudyStateError(`tell: no pending trial '${trialId}' (unknown, or already told)`);
    const m = this.options.objectives.length;
    let values: number[] | null;
    if (value === null || value === undefined) values = null;
    else if (typeof value === 'number') values = [value];
    else if (Array.isArray(value)) values = [...(value as number[])];
    else throw new StudyStateError(`tell ${trialId}: expected a number, an array of numbers or null`);
    if (values && values.length !== m) throw new StudyStateError(`tell ${trialId}: expected ${m} value(s) (${this.options.objectives.map((o) => o.name).join(', ')}), got ${values.length}`);
    if (values && values.some((v) => typeof v !== 'number')) throw new StudyStateError(`tell ${trialId}: values must be numbers`);
    this.pendingById.delete(trialId);
    if (values && values.some((v) => !Number.isFinite(v))) {
      this.audit(trial.number, 'trial-failed', { reason: 'non-finite value', values: values.map(String) });
      values = null;
    } else if (!values) {
      this.audit(trial.number, 'trial-failed', { reason: 'reported failed' });
    }
    if (trial.origin.kind === 'probe') this.s.probeFinished++;
    if (!values) {
      this.s.failed++;
      if (trial.origin.kind === 'nelder-mead') this.nmTell(trial, trial.origin.requestId, null);
      if (trial.origin.kind === 'trust-region') this.trustRegionTell(trial, trial.origin.centerLoss, null);
      return;
    }
    const losses = values.map((v, k) => (this.options.objectives[k]?.direction === 'MAXIMIZE' ? -v : v));
    const done: CompletedTrial = { number: trial.number, point: trial.point, params: trial.params, strategy: trial.strategy, values, losses };
    this.recordCompleted(done);
    if (trial.origin.kind === 'probe') this.s.probeResults.push({ point: trial.point, loss: losses[0] as number });
    if (trial.origin.kind === 'nelder-mead') this.nmTell(trial, trial.origin.requestId, losses[0] as number);
    if (trial.origin.kind === 'trust-region') this.trustRegionTell(trial, trial.origin.centerLoss, losses[0] as number);
    if (trial.origin.kind === 'nsga2' || trial.origin.kind === 'nsga2-initial') {
      const nsga = this.nsgaEngine();
      if (nsga.tell(trial.point, losses, trial.number)) this.audit(trial.number, 'generation', { generation: nsga.generation });
    }
  }

  markFailed(trialId: string): void {
    this.tell(trialId, null);
  }

  best(): TrialResult | null {
    if (this.options.objectives.length > 1 || !this.s.best) return null;
    return toResult(this.s.best);
  }

  paretoFront(): TrialResult[] {
    if (this.options.objectives.length === 1) return this.s.best ? [toResult(this.s.best)] : [];
    return [...this.s.pareto].sort((a, b) => a.number - b.number).map(toResult);
  }

  snapshot(): StudySnapshot {
    this.s.random = this.random.state();
    this.s.tpeRandom = this.tpeRandom.state();
    this.s.trRandom = this.trRandom.state();
    this.s.nelderMead = this.nm ? this.nm.state() : null;
    this.s.nsga2 = this.nsga ? this.nsga.state() : null;
    this.s.pending = [...this.pendingById.values()].sort((a, b) => a.number - b.number);
    return structuredClone(this.s);
  }

  // --- proposals ---

  private propose(number: number): { point: ArrayLike<number>; strategy: string; origin: Origin } {
    const o = this.options;
    switch (o.strategy) {
      case 'random':
        return { point: Array.from({ length: this.space.dimension }, () => this.random.float()), strategy: 'random', origin: { kind: 'random' } };
      case 'sobol':
        return this.sobolProposal('sobol');
      case 'tpe':
        return this.s.nextNumber >= this.startupSize ? this.tpeProposal() : this.sobolProposal('sobol');
      case 'nelder-mead':
        // Start from the first (seeded) Sobol point, not the centre: a fixed start would make every seed the same run.
        return this.nelderMeadProposal(number, () => NelderMead.create(this.space.dimension, { point: Array.from(this.sobol.point(this.s.sobolIndex++)), loss: null }, o.nelderMead));
      case 'nsga2':
        return this.nsgaProposal();
      case 'auto':
        return o.objectives.length > 1 ? this.nsgaProposal() : this.autoProposal(number);
    }
  }

  private autoProposal(number: number): { point: ArrayLike<number>; strategy: string; origin: Origin } {
    if (this.s.phase === 'probe') {
      if (this.s.probeFinished < this.probeSize) {
        return { ...this.sobolProposal('sobol'), origin: { kind: 'probe' } };
      }
      const report = classifyLandscape(
        this.s.probeResults.map((r) => r.point),
        this.s.probeResults.map((r) => r.loss),
        this.options.landscape,
      );
      const structured = this.options.auto.structured;
      this.s.landscape = report.landscape;
      this.s.refiner = report.landscape === 'STRUCTURED' ? (structured === 'local' ? this.localMethod() : structured) : 'tpe';
      this.s.phase = 'refine';
      this.audit(number, 'landscape', { ...report });
      this.audit(number, 'phase', { from: 'probe', to: 'refine', refiner: this.s.refiner, probeTrials: this.s.probeFinished });
    }
    if (this.s.refiner === 'tpe' && this.options.auto.polishFraction > 0 && number >= Math.floor(this.options.budget * (1 - this.options.auto.polishFraction)) && this.s.best) {
      this.s.refiner = this.localMethod();
      this.s.polishing = true;
      this.nm = null;
      this.s.trustRegion = null;
      this.audit(number, 'phase', { from: 'tpe', to: this.s.refiner, reason: 'polish the best point', fromTrial: this.s.best.number });
    }
    if (this.s.refiner === 'nelder-mead') {
      if (this.s.polishing && this.s.best) {
        const best = this.s.best;
        return this.nelderMeadProposal(number, () => NelderMead.create(this.space.dimension, { point: best.point, loss: best.losses[0] as number }, { ...this.options.nelderMead, initialStep: this.options.auto.polishStep }));
      }
      return this.nelderMeadProposal(number, () => {
        const ranked = [...this.s.probeResults].sort((a, b) => a.loss - b.loss);
        const start = ranked[0] ?? { point: new Array<number>(this.space.dimension).fill(0.5), loss: null };
        return NelderMead.create(this.space.dimension, start, this.options.nelderMead, ranked);
      });
    }
    if (this.s.refiner === 'trust-region') return this.trustRegionProposal(number);
    return this.tpeProposal();
  }

  /** 'auto''s local method: Nelder–Mead in up to 2 numeric dimensions, the trust region above. */
  private localMethod(): 'nelder-mead' | 'trust-region' {
    const local = this.options.auto.local;
    if (local !== 'auto') return local;
    return this.shape.choiceCounts.filter((c) => c === 0).length <= 2 ? 'nelder-mead' : 'trust-region';
  }

  private sobolProposal(strategy: string): { point: ArrayLike<number>; strategy: string; origin: Origin } {
    return { point: this.sobol.point(this.s.sobolIndex++), strategy, origin: { kind: 'sobol' } };
  }

  private tpeProposal(): { point: ArrayLike<number>; strategy: string; origin: Origin } {
    if (this.s.history.length === 0) return this.sobolProposal('sobol');
    const pending = [...this.pendingById.values()].map((p) => p.point);
    const suggestion = suggestTpe(
      this.shape,
      this.scored,
      pending,
      this.tpeRandom,
      this.options.tpe,
      this.hooks.gpuKde ?? defaultGpuKdeProvider,
      this.tpeCache,
    );
    return { point: suggestion.point, strategy: 'tpe', origin: { kind: 'tpe' } };
  }

  private nelderMeadProposal(number: number, create: () => NelderMead): { point: ArrayLike<number>; strategy: string; origin: Origin } {
    this.nm ??= create();
    const next = this.nm.ask();
    if (next) return { point: next.point, strategy: 'nelder-mead', origin: { kind: 'nelder-mead', requestId: next.requestId } };
    const fallback = this.tpeProposal();
    this.audit(number, 'fallback', { from: 'nelder-mead', to: fallback.strategy, reason: 'the simplex waits for a pending result' });
    return fallback;
  }

  private trustRegionProposal(number: number): { point: ArrayLike<number>; strategy: string; origin: Origin } {
    const o = this.options.trustRegion;
    const tr = (this.s.trustRegion ??= { radius: o.initialRadius, restarts: 0, exploreUntil: 0, pendingTrial: null });
    const best = this.s.best;
    if (!best || number < tr.exploreUntil) return this.tpeProposal();
    if (tr.pendingTrial !== null) {
      const fallback = this.tpeProposal();
      this.audit(number, 'fallback', { from: 'trust-region', to: fallback.strategy, reason: 'the trust region waits for a pending result' });
      return fallback;
    }
    const proposal = proposeTrustRegion(
      this.shape,
      this.scored,
      best.point,
      tr.radius,
      o,
      this.trRandom,
      (p) => this.space.encode(this.space.decode(p)),
    );
    if (!proposal) return this.tpeProposal(); // no numeric dimension to move
    tr.pendingTrial = number;
    return { point: proposal.point, strategy: 'trust-region', origin: { kind: 'trust-region', centerLoss: best.losses[0] as number } };
  }

  /** Grows the region after a step that beat the centre it was taken from, shrinks it otherwise; restarts it after a collapse. */
  private trustRegionTell(trial: PendingTrial, centerLoss: number, loss: number | null): void {
    const tr = this.s.trustRegion;
    if (!tr || tr.pendingTrial !== trial.number) return;
    tr.pendingTrial = null;
    const o = this.options.trustRegion;
    const improved = loss !== null && loss < centerLoss;
    tr.radius = improved ? Math.min(o.maxRadius, tr.radius * o.grow) : tr.radius * o.shrink;
    if (tr.radius < o.minRadius) {
      tr.restarts++;
      const explore = o.exploreTrials > 0 ? o.exploreTrials : Math.max(5, this.space.dimension + 1);
      tr.exploreUntil = this.s.nextNumber + explore;
      tr.radius = o.initialRadius;
      this.audit(trial.number, 'tr-restart', { reason: 'collapsed', restarts: tr.restarts, exploreTrials: explore, bestValue: this.s.best?.values[0] });
    }
  }

  private nmTell(trial: PendingTrial, requestId: number, loss: number | null): void {
    if (!this.nm) return;
    for (const event of this.nm.tell(requestId, loss)) this.audit(trial.number, 'nm-restart', { ...event });
  }

  private nsgaEngine(): Nsga2 {
    this.nsga ??= Nsga2.create(this.space.dimension, this.options.seed, this.options.nsga2);
    return this.nsga;
  }

  private nsgaProposal(): { point: ArrayLike<number>; strategy: string; origin: Origin } {
    const nsga = this.nsgaEngine();
    if (nsga.needsInitialDesign()) return { ...this.sobolProposal('sobol'), origin: { kind: 'nsga2-initial' } };
    return { point: nsga.askChild(), strategy: 'nsga2', origin: { kind: 'nsga2' } };
  }

  // --- guardrails ---

  private applyGuardrails(point: ArrayLike<number>, number: number): number[] {
    const g = this.options.guardrails;
    const out = Array.from(point);
    if (g.bounds) {
      const clamped: Record<string, { from: number; to: number }> = {};
      for (let k = 0; k < out.length; k++) {
        const v = out[k] as number;
        const c = Math.min(this.guardHigh[k] as number, Math.max(this.guardLow[k] as number, v));
        if (c !== v) {
          out[k] = c;
          clamped[(this.options.params[k] as ParamSpec).name] = { from: v, to: c };
        }
      }
      if (Object.keys(clamped).length > 0) this.audit(number, 'guardrail-bounds', { clamped });
    }
    if (g.maxStep !== undefined && this.s.best) {
      const best = this.s.best.point;
      const clamped: Record<string, { from: number; to: number }> = {};
      for (let k = 0; k < out.length; k++) {
        const v = out[k] as number;
        const b = best[k] as number;
        const c = Math.min(b + g.maxStep, Math.max(b - g.maxStep, v));
        if (c !== v) {
          out[k] = c;
          clamped[(this.options.params[k] as ParamSpec).name] = { from: v, to: c };
        }
      }
      if (Object.keys(clamped).length > 0) this.audit(number, 'guardrail-step', { maxStep: g.maxStep, relativeTo: this.s.best.number, clamped });
    }
    return out;
  }

  // --- history ---

  private recordCompleted(done: CompletedTrial): void {
    const single = this.options.objectives.length === 1;
    if (single) {
      const best = this.s.best;
      const improved = !best || (done.losses[0] as number) < (best.losses[0] as number);
      if (improved) {
        this.s.best = done;
        this.s.consecutiveRegressions = 0;
      } else if ((done.losses[0] as number) > (best.losses[0] as number)) {
        this.s.consecutiveRegressions++;
        const limit = this.options.guardrails.rollbackAfter;
        if (limit !== undefined && this.s.consecutiveRegressions >= limit) {
          this.s.rollbackQueued = true;
          this.s.consecutiveRegressions = 0;
        }
      }
    } else {
      this.updatePareto(done);
    }
    this.s.history.push(done);
    this.scored.push({ point: done.point, loss: done.losses[0] as number });
    if (this.s.history.length > this.options.maxHistory) this.evictOne();
  }

  private updatePareto(done: CompletedTrial): void {
    if (this.s.pareto.some((p) => dominates(p.losses, done.losses) || p.losses.every((v, k) => v === done.losses[k]))) return;
    this.s.pareto = this.s.pareto.filter((p) => !dominates(done.losses, p.losses));
    this.s.pareto.push(done);
    if (this.s.pareto.length > this.options.maxHistory) {
      const distance = crowdingDistance(this.s.pareto.map((p) => p.losses));
      let worst = 0;
      distance.forEach((d, i) => {
        if (d < (distance[worst] as number)) worst = i;
      });
      this.s.pareto.splice(worst, 1);
    }
  }

  /** Drops the oldest trial that is not among the best quarter (or, with several objectives, on the front). */
  private evictOne(): void {
    const history = this.s.history;
    let index: number;
    if (this.options.objectives.length === 1) {
      // The best `keep` by (loss, number) are protected: the keep-th of that order is found by
      // selection (linear on average) instead of sorting the history on every tell.
      const keep = Math.ceil(this.options.maxHistory / 4);
      const last = kthByLossAndNumber(history, keep - 1);
      index = history.findIndex((h) => (h.losses[0] as number) - (last.losses[0] as number) > 0 || ((h.losses[0] as number) === (last.losses[0] as number) && h.number > last.number));
    } else {
      const protectedNumbers = new Set(this.s.pareto.map((p) => p.number));
      index = history.findIndex((h) => !protectedNumbers.has(h.number));
    }
    history.splice(index >= 0 ? index : 0, 1);
    this.scored.splice(index >= 0 ? index : 0, 1);
  }

  private audit(trial: number, kind: AuditKind, detail: Record<string, unknown>): void {
    const record: AuditRecord = { trial, kind, detail: JSON.parse(JSON.stringify(detail)) as Record<string, unknown> };
    this.s.audit.push(record);
    if (this.s.audit.length > AUDIT_LOG_LIMIT) this.s.audit.splice(0, this.s.audit.length - AUDIT_LOG_LIMIT);
    this.hooks.onAudit?.(record);
  }
}

/**
 * The trial of rank k (0-based) in the order (loss, number), by quickselect (middle pivot: the
 * result, one trial, does not depend on the pivots). `trials` is not reordered.
 */
function kthByLossAndNumber(trials: readonly CompletedTrial[], k: number): CompletedTrial {
  const items = [...trials];
  const before = (a: CompletedTrial, b: CompletedTrial) => (a.losses[0] as number) - (b.losses[0] as number) || a.number - b.number;
  let lo = 0;
  let hi = items.length - 1;
  const at = Math.min(Math.max(0, k), hi);
  while (lo < hi) {
    const pivot = items[(lo + hi) >> 1] as CompletedTrial;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (before(items[i] as CompletedTrial, pivot) < 0) i++;
      while (before(items[j] as CompletedTrial, pivot) > 0) j--;
      if (i <= j) {
        const t = items[i] as CompletedTrial;
        items[i++] = items[j] as CompletedTrial;
        items[j--] = t;
      }
    }
    if (at <= j) hi = j;
    else if (at >= i) lo = i;
    else break;
  }
  return items[at] as CompletedTrial;
}

function trialIdOf(number: number): string {
  return `trial-${number}`;
}

function toTrial(t: PendingTrial | CompletedTrial): Trial {
  return { trialId: trialIdOf(t.number), number: t.number, params: { ...t.params }, strategy: t.strategy };
}

function toResult(t: CompletedTrial): TrialResult {
  return { ...toTrial(t), values: [...t.values], value: t.values[0] as number };
}
