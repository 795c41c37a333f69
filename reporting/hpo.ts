/**
 * HPO studies for the Optimizer page, in the spirit of Optuna's dashboard: every study with its
 * progress and best value, and for one study each finished trial's objective value in trial
 * order with its parameters. A trial's result is its job's relevance label (the outcome joined
 * to the dispatch that carried the study and trial ids). Bound parameters only.
 */
import { queryRows, type ClickHouseClient } from '../infra/clickhouse/client.ts';

export interface HpoStudyRow {
  study_id: string;
  strategy: string;
  budget: number;
  objective: { name: string; direction: 'MAXIMIZE' | 'MINIMIZE' } | null;
  objectives: number;
  suggested: number;
  finished: number;
  done: boolean;
  best_value: number | null;
  defined_at: string;
}

export interface HpoTrialRow {
  trial_id: string;
  number: number;
  strategy: string;
  params: Record<string, number | string | boolean | null>;
  status: string;
  /** The first objective's value; null for a failed trial (not SUCCEEDED, or the field missing). */
  value: number | null;
}

/** Objectives name outcome fields (see README: metric, cost_usd, duration_s). */
const OBJECTIVE_FIELDS = new Set(['metric', 'cost_usd', 'duration_s']);

export async function hpoStudies(client: ClickHouseClient, db: string, limit = 20): Promise<HpoStudyRow[]> {
  const [studies, suggestions, finished] = await Promise.all([
    queryRows<{ study_id: string; strategy: string; budget: number; objectives: string; defined_at: string }>(
      client,
      `SELECT study_id, argMax(strategy, event_time) AS strategy, argMax(budget, event_time) AS budget, argMax(objectives, event_time) AS objectives,
              toString(max(event_time)) AS defined_at
       FROM ${db}.hpo_studies FINAL GROUP BY study_id ORDER BY defined_at DESC, study_id LIMIT {limit:UInt32}`,
      { limit },
    ),
    queryRows<{ study_id: string; suggested: string; is_done: boolean; best: number | null }>(
      client,
      `SELECT study_id, countIf(NOT done) AS suggested, max(done) AS is_done, argMax(best_value, (done, trial_number)) AS best
       FROM ${db}.hpo_suggestions FINAL GROUP BY study_id`,
    ),
    queryRows<{ study_id: string; n: string }>(client, `SELECT hpo_study_id AS study_id, count() AS n FROM ${db}.relevance_labels FINAL WHERE hpo_study_id IS NOT NULL GROUP BY study_id`),
  ]);
  const bySuggestion = new Map(suggestions.map((s) => [s.study_id, s]));
  const byFinished = new Map(finished.map((f) => [f.study_id, Number(f.n)]));
  return studies.map((s) => {
    const objectives = JSON.parse(s.objectives) as Array<{ name: string; direction: 'MAXIMIZE' | 'MINIMIZE' }>;
    const g = bySuggestion.get(s.study_id);
    return {
      study_id: s.study_id,
      strategy: s.strategy,
      budget: Number(s.budget),
      objective: objectives[0] ?? null,
      objectives: objectives.length,
      suggested: Number(g?.suggested ?? 0),
      finished: byFinished.get(s.study_id) ?? 0,
      done: Boolean(g?.is_done),
      best_value: g?.best === null || g?.best === undefined ? null : Number(g.best),
      defined_at: s.defined_at,
    };
  });
}

export async function hpoTrials(client: ClickHouseClient, db: string, studyId: string, objective: string): Promise<HpoTrialRow[]> {
  const rows = await queryRows<{ trial_id: string; number: number; strategy: string; params: string; status: string; metric: number | null; cost_usd: number; duration_s: number }>(
    client,
    `SELECT g.trial_id AS trial_id, g.trial_number AS number, g.strategy AS strategy, g.params AS params,
            l.status AS status, l.metric AS metric, l.cost_usd AS cost_usd, l.duration_s AS duration_s
     FROM (SELECT trial_id, trial_number, strategy, params FROM ${db}.hpo_suggestions FINAL WHERE study_id = {study:String} AND NOT done) AS g
     INNER JOIN (SELECT hpo_trial_id, status, metric, cost_usd, duration_s FROM ${db}.relevance_labels FINAL WHERE hpo_study_id = {study:String}) AS l
       ON l.hpo_trial_id = g.trial_id
     ORDER BY number`,
    { study: studyId },
  );
  const field = OBJECTIVE_FIELDS.has(objective) ? (objective as 'metric' | 'cost_usd' | 'duration_s') : 'metric';
  return rows.map((r) => {
    const raw = r[field];
    const params = Object.fromEntries(
      (JSON.parse(r.params) as Array<{ name: string; number: number | null; category: string | null; flag?: boolean | null }>).map((p) => [p.name, p.category ?? p.number ?? p.flag ?? null]),
    );
    return {
      trial_id: r.trial_id,
      number: Number(r.number),
      strategy: r.strategy,
      params,
      status: r.status,
      value: r.status === 'SUCCEEDED' && raw !== null && raw !== undefined && Number.isFinite(Number(raw)) ? Number(raw) : null,
    };
  });
}
