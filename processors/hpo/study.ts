/**
 * A hyperparameter study: the engine's public face. It keeps the trials (pending, history,
 * best, Pareto front), applies the guardrails and writes the audit trail; where each trial
 * goes is its sampler's decision (sampler.ts; the strategies by name in samplers/index.ts).
 * Pure state, no I/O, no clock: the same seed and the same sequence of asks and tells give the
 * same suggestions, whatever the timing and whichever Node runs it (portableMath.ts), and
 * `snapshot()` / `restoreStudy()` round-trip the whole state through JSON.
 *
 * Lifecycle: `createStudy(options)` validates everything (InvalidStudyError names the bad
 * field). Then, any number of times and in any order the caller's events arrive:
 * - `ask()` while `canAsk()` (budget left, fewer than `parallelism` trials pending);
 * - `tell(trialId, value)` once per asked trial: a number (one objective), an array (one per
 *   objective), or null for a failed trial (`markFailed`); NaN and infinities count as failed.
 * `isDone()` once the budget is asked and every trial told.
 *
 * Strategies (`strategy`): 'auto' (default; samplers/autoSampler.ts), 'tpe', 'nelder-mead',
 * 'nsga2', 'sobol', 'random'. A snapshot restored with another `options.strategy` than the one
 * that wrote it switches strategy: the new sampler starts fresh on the study's history.
 *
 * Bounded history: the samplers see at most `maxHistory` completed trials; past that, the
 * oldest trial that is not among the best quarter (by loss; for several objectives, the Pareto
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
import type { AuditKind, AuditRecord } from './audit.ts';
import { StudyStateError } from './errors.ts';
import { crowdingDistance, dominates } from './nsga2.ts';
import { type ResolvedOptions, resolveOptions, type StrategyName, type StudyOptions } from './options.ts';
import type { SpaceShape } from './parzenEstimator.ts';
import type { BestTrial, Observation, Sampler, SamplerState, SamplerTag, StrategyDefinition, StudyView, Version1SamplerFields } from './sampler.ts';
import { STRATEGIES } from './samplers/index.ts';
import { type Configuration, SearchSpace } from './space.ts';
import { defaultGpuKdeProvider, type GpuKdeProvider, type ScoredPoint } from './tpe.ts';

export type { AuditKind, AuditRecord } from './audit.ts';
export { STRATEGY_NAMES } from './options.ts';
export type { AutoOptions, GuardrailOptions, ObjectiveSpec, ProbeOptions, ResolvedOptions, StrategyName, StudyOptions } from './options.ts';

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
  /** What proposed it: 'sobol', 'random', 'tpe', 'nelder-mead', 'trust-region', 'nsga2', 'rollback'. */
  readonly strategy: string;
}

export interface TrialResult extends Trial {
  /** One per objective, as told. */
  readonly values: readonly number[];
  /** values[0]. */
  readonly value: number;
}

const SNAPSHOT_VERSION = 2;
const AUDIT_LOG_LIMIT = 1000;

interface PendingTrial {
  number: number;
  point: number[];
  params: Configuration;
  strategy: string;
  /** What the sampler attached to its proposal (absent for a rollback). */
  tag?: SamplerTag;
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
  pending: PendingTrial[];
  history: CompletedTrial[];
  best: CompletedTrial | null;
  pareto: CompletedTrial[];
  consecutiveRegressions: number;
  rollbackQueued: boolean;
  /** The sampler of `strategy` and its state. */
  sampler: { strategy: StrategyName; state: SamplerState };
  audit: AuditRecord[];
}

/** A snapshot of the version-1 engine (one object held every strategy's state); restoreStudy reads it. */
export interface StudySnapshotV1 extends Version1SamplerFields {
  version: 1;
  options: ResolvedOptions;
  nextNumber: number;
  failed: number;
  pending: Array<Omit<PendingTrial, 'tag'> & { origin: SamplerTag }>;
  history: CompletedTrial[];
  best: CompletedTrial | null;
  pareto: CompletedTrial[];
  consecutiveRegressions: number;
  rollbackQueued: boolean;
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
  return new StudyEngine(resolveOptions(options), hooks, null);
}

/**
 * A study from its snapshot (this version's, or version 1's); the next asks equal the
 * original's. With another `options.strategy` than the snapshot's sampler, the study goes on
 * under that strategy, whose sampler starts fresh on the history.
 */
export function restoreStudy(snapshot: StudySnapshot | StudySnapshotV1, hooks: StudyHooks = {}): Study {
  if (!snapshot || typeof snapshot !== 'object') throw new StudyStateError('snapshot: expected an object');
  if (snapshot.version !== SNAPSHOT_VERSION && snapshot.version !== 1) throw new StudyStateError(`snapshot version ${String(snapshot.version)} is not 1 or ${SNAPSHOT_VERSION}`);
  const resolved = resolveOptions(snapshot.options);
  return new StudyEngine(resolved, hooks, structuredClone(snapshot));
}

/** The study's state other than its sampler's. */
type StudyState = Omit<StudySnapshot, 'sampler' | 'options' | 'version'>;

class StudyEngine implements Study {
  readonly options: ResolvedOptions;
  private readonly space: SearchSpace;
  private readonly shape: SpaceShape;
  private readonly hooks: StudyHooks;
  private readonly definition: StrategyDefinition;
  private readonly sampler: Sampler;
  private readonly guardLow: Float64Array;
  private readonly guardHigh: Float64Array;
  private readonly s: StudyState;
  private readonly pendingById = new Map<string, PendingTrial>();
  /** The history as the samplers see it (point, first loss), kept in step with s.history (derived state). */
  private scored: ScoredPoint[] = [];

  constructor(options: ResolvedOptions, hooks: StudyHooks, snapshot: StudySnapshot | StudySnapshotV1 | null) {
    this.options = options;
    this.hooks = hooks;
    this.space = new SearchSpace(options.params);
    const d = this.space.dimension;
    this.shape = { dimension: d, choiceCounts: options.params.map((_, k) => this.space.choiceCount(k)), levelPositions: options.params.map((_, k) => this.space.levelPositions(k)) };
    this.definition = STRATEGIES[options.strategy];
    this.guardLow = new Float64Array(d).fill(0);
    this.guardHigh = new Float64Array(d).fill(1);
    for (const [name, b] of Object.entries(options.guardrails.bounds ?? {})) {
      const k = options.params.findIndex((p) => p.name === name);
      const base = this.space.decode(new Float64Array(d).fill(0.5));
      this.guardLow[k] = this.space.encode({ ...base, [name]: b.low })[k] as number;
      this.guardHigh[k] = this.space.encode({ ...base, [name]: b.high })[k] as number;
    }
    this.s = snapshot ? studyState(snapshot) : { nextNumber: 0, failed: 0, pending: [], history: [], best: null, pareto: [], consecutiveRegressions: 0, rollbackQueued: false, audit: [] };
    for (const p of this.s.pending) this.pendingById.set(trialIdOf(p.number), p);
    // Fresh arrays: those of a restored snapshot come out of structuredClone or JSON.parse, and
    // reading them is several times slower than reading arrays built here (measured at d = 200).
    this.scored = this.s.history.map((h) => {
      h.point = Array.from(h.point);
      return { point: h.point, loss: h.losses[0] as number };
    });
    if (snapshot?.version === 1) {
      this.sampler = this.definition.fromVersion1(snapshot as StudySnapshotV1, options, this.space);
    } else if (snapshot && (snapshot as StudySnapshot).sampler.strategy === options.strategy) {
      this.sampler = this.definition.restore((snapshot as StudySnapshot).sampler.state, options, this.space);
    } else {
      // A new study, or one that switches strategy: the new sampler never sees the old one's tags.
      for (const p of this.s.pending) delete p.tag;
      this.sampler = this.definition.create(options, this.space, { asked: this.s.nextNumber, history: this.scored });
    }
    if (!snapshot) {
      this.audit(0, 'strategy', { strategy: options.strategy, ...this.definition.describe(options, this.space), objectives: options.objectives.length });
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
    let point: ArrayLike<number>;
    let label: string;
    let tag: SamplerTag | undefined;
    if (this.s.rollbackQueued && this.s.best) {
      this.s.rollbackQueued = false;
      point = this.s.best.point;
      label = 'rollback';
      this.audit(number, 'rollback', { toTrial: this.s.best.number, bestValue: this.s.best.values[0], after: this.options.guardrails.rollbackAfter });
    } else {
      const proposal = this.sampler.propose(this.view(number));
      if (!proposal) throw new StudyStateError(`ask: the '${this.options.strategy}' sampler proposed nothing`);
      point = this.applyGuardrails(proposal.point, number);
      label = proposal.label;
      tag = proposal.tag;
    }
    const params = this.space.decode(point);
    const trial: PendingTrial = { number, point: Array.from(this.space.encode(params)), params, strategy: label, ...(tag ? { tag } : {}) };
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
    let losses: number[] | null = null;
    if (values) {
      losses = values.map((v, k) => (this.options.objectives[k]?.direction === 'MAXIMIZE' ? -v : v));
      this.recordCompleted({ number: trial.number, point: trial.point, params: trial.params, strategy: trial.strategy, values, losses });
    } else {
      this.s.failed++;
    }
    const observation: Observation = { number: trial.number, point: trial.point, losses, tag: trial.tag };
    this.sampler.observe(this.view(trial.number), observation);
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
    this.s.pending = [...this.pendingById.values()].sort((a, b) => a.number - b.number);
    return structuredClone({
      version: SNAPSHOT_VERSION,
      options: this.options,
      ...this.s,
      sampler: { strategy: this.options.strategy, state: this.sampler.snapshot() },
    });
  }

  /** What the sampler sees during one call about `trial`. */
  private view(trial: number): StudyView {
    return {
      space: this.space,
      shape: this.shape,
      options: this.options,
      trial,
      gpuKde: this.hooks.gpuKde ?? defaultGpuKdeProvider,
      asked: () => this.s.nextNumber,
      history: () => this.scored,
      best: () => bestOf(this.s.best),
      bestSince: (from) => {
        let best: CompletedTrial | null = null;
        for (const h of this.s.history) if (h.number >= from && (!best || (h.losses[0] as number) < (best.losses[0] as number))) best = h;
        return bestOf(best);
      },
      pendingPoints: () => [...this.pendingById.values()].map((p) => p.point),
      audit: (kind, detail) => this.audit(trial, kind, detail),
    };
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
          clamped[this.space.params[k]!.name] = { from: v, to: c };
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
          clamped[this.space.params[k]!.name] = { from: v, to: c };
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

/** The study's own part of a snapshot (a version-1 one: its pending trials' origins become tags). */
function studyState(snapshot: StudySnapshot | StudySnapshotV1): StudyState {
  const { nextNumber, failed, history, best, pareto, consecutiveRegressions, rollbackQueued, audit } = snapshot;
  const pending: PendingTrial[] =
    snapshot.version === 1
      ? (snapshot as StudySnapshotV1).pending.map(({ origin, ...p }) => ({ ...p, tag: origin }))
      : (snapshot as StudySnapshot).pending;
  return { nextNumber, failed, pending, history, best, pareto, consecutiveRegressions, rollbackQueued, audit };
}

function bestOf(best: CompletedTrial | null): BestTrial | null {
  return best ? { number: best.number, point: best.point, loss: best.losses[0] as number, value: best.values[0] as number } : null;
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
