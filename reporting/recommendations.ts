/**
 * Recommendation history, for the Optimizer page: each finished job with what the optimizer
 * would have picked for it (the top of its suggestion for the dispatch, in the mode that
 * served), what was chosen, the outcome and the relevance label, and the cost against the pick,
 * all as `savings_report` has them (the pick's cost for the same work; the difference only for
 * jobs the savings figure covers: succeeded, with a pick's estimate). Bound parameters only; the
 * sort column comes from a closed list.
 */
import { queryRows, type ClickHouseClient } from '../infra/clickhouse/client.ts';

/** Sortable columns, by the name the page uses. */
export const HISTORY_SORTS = {
  time: 'dispatched_at',
  job: 's.job_id',
  team: 'team',
  chosen: 'chosen',
  pick: 'pick',
  outcome: 'outcome',
  label: 'label',
  cost: 'actual_cost_usd',
  pick_cost: 'pick_cost_usd',
  delta: 'delta_usd',
} as const;

export type HistorySort = keyof typeof HISTORY_SORTS;
export type SortDirection = 'asc' | 'desc';

export interface HistoryRow {
  time: string;
  job_id: string;
  team: string;
  /** `provider/region/instance_type` chosen by the platform. */
  chosen: string;
  /** `provider/region/instance_type` of the optimizer's pick, or '' when it made none. */
  pick: string;
  /** The pick is what the platform chose. */
  same_choice: boolean;
  mode: string | null;
  outcome: string;
  label: number | null;
  actual_cost_usd: number;
  /** The pick's cost for the same work; null without the pick's estimate. */
  pick_cost_usd: number | null;
  /** Actual minus the pick's cost, for jobs the savings figure covers: > 0 when the pick would have been cheaper. */
  delta_usd: number | null;
}

export function isHistorySort(s: string): s is HistorySort {
  return Object.hasOwn(HISTORY_SORTS, s);
}

export async function recommendationHistory(client: ClickHouseClient, db: string, options: { sort: HistorySort; dir: SortDirection; limit: number }): Promise<HistoryRow[]> {
  const order = `${HISTORY_SORTS[options.sort]} ${options.dir === 'asc' ? 'ASC' : 'DESC'}`;
  const rows = await queryRows<Record<string, unknown>>(
    client,
    `SELECT toString(s.dispatched_at) AS time, s.job_id AS job_id, s.team AS team,
            concat(s.provider, '/', s.region, '/', s.instance_type) AS chosen,
            if(s.optimizer_provider IS NULL, '', concat(s.optimizer_provider, '/', s.optimizer_region, '/', s.optimizer_instance_type)) AS pick,
            s.same_choice AS same_choice, s.optimizer_mode AS mode, CAST(s.status AS String) AS outcome, l.label AS label,
            s.actual_cost_usd AS actual_cost_usd, s.optimizer_cost_usd AS pick_cost_usd, s.saving_usd AS delta_usd
     FROM ${db}.savings_report AS s
     LEFT JOIN (SELECT job_id, label FROM ${db}.relevance_labels FINAL) AS l ON l.job_id = s.job_id
     ORDER BY ${order}, s.job_id
     LIMIT {limit:UInt32}
     SETTINGS join_use_nulls = 1`,
    { limit: options.limit },
  );
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return rows.map((r) => ({
    time: String(r.time),
    job_id: String(r.job_id),
    team: String(r.team),
    chosen: String(r.chosen),
    pick: String(r.pick ?? ''),
    same_choice: Boolean(r.same_choice),
    mode: (r.mode as string | null) ?? null,
    outcome: String(r.outcome ?? ''),
    label: num(r.label),
    actual_cost_usd: Number(r.actual_cost_usd),
    pick_cost_usd: num(r.pick_cost_usd),
    delta_usd: num(r.delta_usd),
  }));
}
