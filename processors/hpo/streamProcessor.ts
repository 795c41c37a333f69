/**
 * HPO studies on the stream. A record on hpo-studies defines a study (key study_id); the
 * processor creates the engine and emits one suggestion per free trial slot (`parallelism`)
 * to hpo-suggestions. A platform runs a suggestion and dispatches it with hpo_study_id and
 * hpo_trial_id; the feedback processor's relevance label of that job (the outcome joined to
 * its dispatch) is re-keyed by study, so it meets the study on its partition, and tells the
 * trial's result. Each tell, and each slot freed another way, yields the next suggestion;
 * when the budget is used, one last record with `done` carries the best configuration.
 *
 * - Objectives name outcome fields: `metric` (the outcome's metric), `cost_usd`,
 *   `duration_s`. A run that FAILED or ended PREEMPTED, or lacks the metric, is a failed
 *   trial (it counts against the budget, as in Optuna).
 * - A trial with no result after `hpo.trialTimeoutMs` of stream time (never dispatched, or
 *   CANCELLED, which yields no label) is failed, and its slot is reused.
 * - The engine's state lives in a change-logged store as its snapshot, so a restarted
 *   instance continues with identical asks. Its audit records travel in `decisions`.
 * - The same definition again (a compacted topic is read again) changes nothing; a different
 *   definition under a known id, or an invalid one, goes to the DLQ with the reason.
 * - A finished study leaves the store `hpo.keepFinishedMs` of stream time after its `done`
 *   (a tombstone in the changelog), so finished studies do not pile up; its definition
 *   published again after that starts it anew.
 */
import type { HpoParamValue, HpoStudy, HpoSuggestion, RelevanceLabel } from '../../schemas/generated/records.ts';
import type { InputRecord, Processor, ProcessorContext, Repartition } from '../../topology/processor.ts';
import type { ParamValue } from './space.ts';
import { STRATEGY_NAMES, createStudy, restoreStudy, type AuditRecord, type Study, type StudySnapshot, type StrategyName, type Trial } from './study.ts';

export const HPO_STUDIES_STORE = 'hpo-studies';

/** Objective names a study may use: the outcome fields they read. */
export const OBJECTIVE_FIELDS = ['metric', 'cost_usd', 'duration_s'] as const;

/** Labels of HPO trials, re-keyed by study so they meet the study's definition. */
export const TRIAL_LABELS_BY_STUDY: Repartition<'relevance-labels'> = {
  name: 'trial-labels-by-study',
  from: 'relevance-labels',
  key: (label: RelevanceLabel) => label.hpo_study_id as string,
  accepts: (label: RelevanceLabel) => label.hpo_study_id !== null && label.hpo_trial_id !== null,
};

export interface HpoStreamOptions {
  /** A trial without a result after this much stream time is failed and its slot reused. */
  trialTimeoutMs: number;
  /** Completed trials each study's models keep. */
  maxHistory: number;
  /** A finished study leaves the store this much stream time after it finished. */
  keepFinishedMs: number;
}

interface StoredStudy {
  definition: string;
  snapshot: StudySnapshot;
  /** Stream time at which each pending trial was suggested. */
  askedAt: Record<string, number>;
  done: boolean;
  /** Stream time at which the study said done (absent on studies stored before it was kept). */
  finishedAt?: number;
}

function definitionOf(s: HpoStudy): string {
  // Everything but the envelope: the same study published again is the same study.
  const { event_id: _id, event_time: _t, ...definition } = s;
  return JSON.stringify(definition);
}

function validate(s: HpoStudy): string | null {
  if (!STRATEGY_NAMES.includes(s.strategy as StrategyName)) return `strategy '${s.strategy}' is not one of ${STRATEGY_NAMES.join(', ')}`;
  if (s.objectives.length === 0) return 'a study needs at least one objective';
  const unknown = s.objectives.find((o) => !(OBJECTIVE_FIELDS as readonly string[]).includes(o.name));
  if (unknown) return `objective '${unknown.name}' is not an outcome field (${OBJECTIVE_FIELDS.join(', ')})`;
  if (!Number.isSafeInteger(s.seed)) return 'seed must be a safe integer';
  return null;
}

/** The objective values of a trial's run, or null when the run failed or lacks one. */
export function objectiveValues(study: HpoStudy | { objectives: HpoStudy['objectives'] }, label: RelevanceLabel): number[] | null {
  if (label.status === 'FAILED' || label.status === 'PREEMPTED') return null;
  const values = study.objectives.map((o) => (o.name === 'metric' ? label.metric : o.name === 'cost_usd' ? label.cost_usd : label.duration_s));
  return values.every((v): v is number => typeof v === 'number' && Number.isFinite(v)) ? values : null;
}

/** A suggested value in the record's field for its type, so a consumer gets back what the study's choices held. */
export function paramValue(name: string, v: ParamValue): HpoParamValue {
  if (typeof v === 'number') return { name, number: v, category: null, flag: null };
  if (typeof v === 'boolean') return { name, number: null, category: null, flag: v };
  return { name, number: null, category: v, flag: null };
}

export function hpoStreamProcessor(options: HpoStreamOptions): Processor {
  const load = (stored: StoredStudy, audits: AuditRecord[]): Study => restoreStudy(stored.snapshot, { onAudit: (a) => audits.push(a) });

  const suggestion = (studyId: string, study: Study, trial: Trial | null, at: number, audits: AuditRecord[]): HpoSuggestion => {
    const best = study.best();
    const params = trial?.params ?? best?.params ?? {};
    return {
      event_id: trial ? `hpo:${studyId}:${trial.number}` : `hpo:${studyId}:done`,
      event_time: at,
      study_id: studyId,
      trial_id: trial?.trialId ?? '',
      trial_number: trial?.number ?? study.asked(),
      strategy: trial?.strategy ?? 'done',
      params: Object.entries(params).map(([name, v]) => paramValue(name, v)),
      best_value: best?.value ?? null,
      done: trial === null,
      decisions: audits.splice(0).map((a) => JSON.stringify(a)),
    };
  };

  /** Fills every free slot, then says done once; saves the state. */
  const advance = (ctx: ProcessorContext, studyId: string, stored: StoredStudy, study: Study, at: number, audits: AuditRecord[]) => {
    while (study.canAsk()) {
      const trial = study.ask();
      stored.askedAt[trial.trialId] = at;
      ctx.forward('hpo-suggestions', studyId, suggestion(studyId, study, trial, at, audits));
    }
    if (study.isDone() && !stored.done) {
      stored.done = true;
      stored.finishedAt = at;
      ctx.forward('hpo-suggestions', studyId, suggestion(studyId, study, null, at, audits));
    }
    stored.snapshot = study.snapshot();
    ctx.getStateStore<StoredStudy>(HPO_STUDIES_STORE).put(studyId, stored);
  };

  return {
    name: 'hpo',
    inputs: ['hpo-studies'],
    repartitions: [TRIAL_LABELS_BY_STUDY],
    stores: [{ name: HPO_STUDIES_STORE }],
    process(record: InputRecord, ctx: ProcessorContext): void {
      const store = ctx.getStateStore<StoredStudy>(HPO_STUDIES_STORE);
      const audits: AuditRecord[] = [];
      if (record.role === 'hpo-studies') {
        const def = record.value as HpoStudy;
        const known = store.get(def.study_id);
        if (known) {
          if (known.definition !== definitionOf(def)) {
            ctx.deadLetter({ code: 'INVALID_FIELD', reason: `study ${def.study_id} exists with another definition; use a new study_id`, key: record.key, record: { role: 'hpo-studies', value: def, eventTime: def.event_time } });
          }
          return;
        }
        const invalid = validate(def);
        let study: Study;
        try {
          if (invalid) throw new Error(invalid);
          study = createStudy(
            {
              params: def.params,
              objectives: def.objectives,
              budget: def.budget,
              seed: def.seed,
              strategy: def.strategy as StrategyName,
              parallelism: def.parallelism,
              maxHistory: options.maxHistory,
              guardrails: { ...(def.max_step !== null ? { maxStep: def.max_step } : {}), ...(def.rollback_after !== null ? { rollbackAfter: def.rollback_after } : {}) },
            },
            { onAudit: (a) => audits.push(a) },
          );
        } catch (err) {
          ctx.deadLetter({ code: 'INVALID_FIELD', reason: `study ${def.study_id}: ${(err as Error).message}`, key: record.key, record: { role: 'hpo-studies', value: def, eventTime: def.event_time } });
          return;
        }
        ctx.count('hpo-studies-started');
        advance(ctx, def.study_id, { definition: definitionOf(def), snapshot: study.snapshot(), askedAt: {}, done: false }, study, record.eventTime, audits);
        return;
      }
      const label = record.value as RelevanceLabel;
      const studyId = label.hpo_study_id as string;
      const trialId = label.hpo_trial_id as string;
      const stored = store.get(studyId);
      if (!stored || !(trialId in stored.askedAt)) {
        ctx.deadLetter({
          code: 'INVALID_FIELD',
          reason: stored ? `study ${studyId} has no pending trial '${trialId}' (unknown, already told, or timed out)` : `no study '${studyId}' (hpo_study_id of job ${label.job_id})`,
          key: record.key,
          record: { role: 'relevance-labels', value: label, eventTime: label.event_time },
        });
        return;
      }
      const study = load(stored, audits);
      const values = objectiveValues(JSON.parse(stored.definition) as HpoStudy, label);
      study.tell(trialId, values);
      delete stored.askedAt[trialId];
      ctx.count(values ? 'hpo-trials-told' : 'hpo-trials-failed');
      advance(ctx, studyId, stored, study, Math.max(ctx.streamTime, label.event_time), audits);
    },
    punctuate(streamTime: number, ctx: ProcessorContext): void {
      const store = ctx.getStateStore<StoredStudy>(HPO_STUDIES_STORE);
      const finished: string[] = [];
      const unstamped: Array<[string, StoredStudy]> = [];
      for (const [studyId, stored] of store.entries()) {
        if (!stored.done) continue;
        if (stored.finishedAt === undefined) unstamped.push([studyId, stored]);
        else if (stored.finishedAt + options.keepFinishedMs <= streamTime) finished.push(studyId);
      }
      for (const studyId of finished) store.delete(studyId);
      if (finished.length > 0) ctx.count('hpo-studies-deleted', finished.length);
      // Studies finished before the time was kept count from now.
      for (const [studyId, stored] of unstamped) store.put(studyId, { ...stored, finishedAt: streamTime });
      for (const [studyId, stored] of store.entries()) {
        const expired = Object.entries(stored.askedAt).filter(([, at]) => at + options.trialTimeoutMs <= streamTime);
        if (expired.length === 0) continue;
        const audits: AuditRecord[] = [];
        const study = load(stored, audits);
        for (const [trialId] of expired) {
          const before = audits.length;
          study.markFailed(trialId);
          // The study audits the failure once; the reason it knows is the generic one.
          const failed = audits.findIndex((a, i) => i >= before && a.kind === 'trial-failed');
          if (failed >= 0) {
            const a = audits[failed] as AuditRecord;
            audits[failed] = { ...a, detail: { ...a.detail, trialId, reason: 'no result within hpo.trialTimeoutMs' } };
          }
          delete stored.askedAt[trialId];
        }
        ctx.count('hpo-trials-timed-out', expired.length);
        advance(ctx, studyId, { ...stored }, study, streamTime, audits);
      }
    },
  };
}
