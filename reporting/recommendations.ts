/**
 * Recommendation history, for the Optimizer page: each finished job with what the optimizer
 * would have picked for it (its top suggestion for the dispatch, or the cheapest candidate the
 * job was chosen from when it made none: `savings_report`'s `suggested_from`), what was
 * chosen, the outcome and the relevance label, and the cost against the pick. Bound
 * parameters only; the sort column comes from a closed list.
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
  pick_cost: 'suggested_cost_usd',
  delta: 'delta_usd',
} as const;

export type HistorySort = keyof typeof HISTORY_SORTS;
export type SortDirection = 'asc' | 'desc';

export interface HistoryRow {
  time: string;
  job_id: string;
  team: string;
  chosen: string;
  /** `provider/instance_type` of the optimizer's pick, `cheapest candidate`, or '' when there was nothing to compare with. */
  pick: string;
  suggested_from: string | null;
  mode: string | null;
  outcome: string;
  label: number | null;
  actual_cost_usd: number;
  suggested_cost_usd: number | null;
  /** Actual minus the pick's cost for the same hours: > 0 when the pick would have been cheaper. */
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
            concat(s.provider, '/', s.instance_type) AS chosen,
            multiIf(s.suggested_from = 'optimizer', concat(s.optimizer_provider, '/', s.optimizer_instance_type), s.suggested_from IS NULL, '', s.suggested_from) AS pick,
            s.suggested_from AS suggested_from, s.optimizer_mode AS mode, ifNull(o.status, '') AS outcome, l.label AS label,
            s.actual_cost_usd AS actual_cost_usd, s.suggested_cost_usd AS suggested_cost_usd, s.actual_cost_usd - s.suggested_cost_usd AS delta_usd
     FROM ${db}.savings_report AS s
     LEFT JOIN (SELECT job_id, status FROM ${db}.job_outcome FINAL) AS o ON o.job_id = s.job_id
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
    suggested_from: (r.suggested_from as string | null) ?? null,
    mode: (r.mode as string | null) ?? null,
    outcome: String(r.outcome ?? ''),
    label: num(r.label),
    actual_cost_usd: Number(r.actual_cost_usd),
    suggested_cost_usd: num(r.suggested_cost_usd),
    delta_usd: num(r.delta_usd),
  }));
}
