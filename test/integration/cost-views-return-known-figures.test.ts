/**
 * The cost views on the real engine, over known rows: spend per day and month, cost per
 * point of metric improvement, the savings report and the spot preemption history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, queryRows } from '../../infra/clickhouse/client.ts';
import { toRow } from '../../infra/clickhouse/flatten.ts';
import { migrate } from '../../infra/clickhouse/migrate.ts';
import { buildLabel } from '../../processors/feedback/join.ts';
import type { TopicRole } from '../../schemas/catalog.ts';
import { EventGenerator } from '../../simulate/generator.ts';
import { testConfig } from '../helpers/testConfig.ts';

describe('cost views', () => {
  const config = testConfig();
  const client = createClickHouse(config.clickhouse);
  const db = config.clickhouse.database;
  const g = new EventGenerator({ seed: 5, runId: 'views' });
  const day1 = Date.UTC(2026, 2, 10);
  const base = g.job(day1);
  const instance = (provider: string, type: string, spot: boolean, price: number) => ({ provider, region: 'r1', instance_type: type, spot, hourly_price_usd: price });
  // Three runs with hand-picked figures.
  const jobs = [
    { id: 'j1', team: 't1', inst: instance('aws', 'p3', true, 1), cost: 10, hours: 10, preemptions: 1, metric: 0.88, day: 0 },
    { id: 'j2', team: 't1', inst: instance('aws', 'p3', false, 3), cost: 30, hours: 10, preemptions: 0, metric: 0.84, day: 0 },
    { id: 'j3', team: 't2', inst: instance('gcp', 'a2', false, 4), cost: 20, hours: 5, preemptions: 0, metric: 0.8, day: 40 },
  ].map((j) => {
    const t = day1 + j.day * 86_400_000;
    const dispatch = {
      ...base.dispatch,
      event_id: `d-${j.id}`,
      event_time: t,
      job_id: j.id,
      team: j.team,
      instance: j.inst,
      candidates: [instance('aws', 'cheap', false, 0.5), j.inst],
      estimated_cost_usd: j.inst.hourly_price_usd * j.hours,
      baseline_metric: 0.8,
      metric_goal: 'MAXIMIZE' as const,
    };
    const outcome = {
      ...base.outcome,
      event_id: `o-${j.id}`,
      event_time: t + j.hours * 3_600_000,
      job_id: j.id,
      status: 'SUCCEEDED' as const,
      cost_usd: j.cost,
      duration_s: j.hours * 3600,
      metric: j.metric,
      preemption_count: j.preemptions,
    };
    return { dispatch, outcome, label: buildLabel(dispatch, outcome, config.feedback) };
  });

  const insert = async (role: TopicRole, table: string, records: object[]) =>
    client.insert({
      table: `${db}.${table}`,
      values: records.map((r, i) => toRow(role, r as Record<string, unknown>, { topic: role, partition: 0, offset: String(i) })),
      format: 'JSONEachRow',
    });

  beforeAll(async () => {
    await migrate(client, db);
    // Inserted twice: the views must not double count.
    for (let i = 0; i < 2; i++) {
      await insert('job-dispatch', 'job_dispatch', jobs.map((j) => j.dispatch));
      await insert('job-outcome', 'job_outcome', jobs.map((j) => j.outcome));
      await insert('relevance-labels', 'relevance_labels', jobs.map((j) => j.label as object));
      // The optimizer's own pick for j2 only: $1/h on azure (HYBRID); j1 and j3 fall back to the cheapest candidate.
      await insert('instance-suggestions', 'instance_suggestions', [
        {
          event_id: 'suggestion:dispatch:j2',
          event_time: day1,
          source: 'DISPATCH',
          request_id: null,
          job_id: 'j2',
          team: 't1',
          query_id: 'q',
          mode: 'HYBRID',
          model_version: 'ltr-7',
          ranked: [
            { rank: 1, instance: instance('azure', 'nc', false, 1), score: 0.9, estimated_cost_usd: 10, factors: {} },
            { rank: 2, instance: instance('aws', 'cheap', false, 0.5), score: 0.5, estimated_cost_usd: 5, factors: {} },
          ],
          chosen_cost_usd: 30,
        },
      ]);
    }
  });
  afterAll(() => client.close());

  it('spend per day and per month', async () => {
    const daily = await queryRows<{ provider: string; spot: boolean; runs: string; cost_usd: number }>(
      client,
      `SELECT provider, spot, runs, cost_usd FROM ${db}.spend_daily WHERE day = {day:Date} ORDER BY provider, spot`,
      { day: '2026-03-10' },
    );
    expect(daily.map((r) => [r.provider, Boolean(r.spot), Number(r.runs), r.cost_usd])).toEqual([
      ['aws', false, 1, 30],
      ['aws', true, 1, 10],
    ]);
    const monthly = await queryRows<{ month: string; team: string; cost: number }>(client, `SELECT month, team, sum(cost_usd) AS cost FROM ${db}.spend_monthly GROUP BY month, team ORDER BY month, team`);
    expect(monthly).toEqual([
      { month: '2026-03-01', team: 't1', cost: 40 },
      { month: '2026-04-01', team: 't2', cost: 20 },
    ]);
  });

  it('cost per point of metric improvement', async () => {
    const rows = await queryRows<{ team: string; cost: number; points: number; per_point: number | null }>(
      client,
      `SELECT team, sum(cost_usd) AS cost, sum(improvement_pct_points) AS points, cost / nullIf(points, 0) AS per_point
       FROM ${db}.cost_efficiency GROUP BY team ORDER BY team`,
    );
    // t1: 0.88 and 0.84 over a 0.8 baseline: 10% + 5% = 15 points for $40. t2: no improvement.
    expect(rows[0]?.team).toBe('t1');
    expect(rows[0]?.cost).toBe(40);
    expect(rows[0]?.points).toBeCloseTo(15, 9);
    expect(rows[0]?.per_point).toBeCloseTo(40 / 15, 9);
    expect(rows[1]?.per_point).toBeNull();
  });

  it("savings against the optimizer's pick (else the cheapest candidate), and spot preemption history", async () => {
    const savings = await queryRows<{ job_id: string; suggested_from: string; optimizer_mode: string | null; optimizer_instance_type: string | null; suggested_cost_usd: number; potential_saving_usd: number }>(
      client,
      `SELECT job_id, suggested_from, optimizer_mode, optimizer_instance_type, suggested_cost_usd, potential_saving_usd FROM ${db}.savings_report ORDER BY job_id`,
    );
    // j2: the optimizer's $1/h pick for 10 h -> $10. The others: the cheapest candidate at $0.5/h, 10 h -> $5, 5 h -> $2.5.
    expect(savings.map((s) => [s.job_id, s.suggested_from, s.optimizer_mode, s.optimizer_instance_type, s.suggested_cost_usd, s.potential_saving_usd])).toEqual([
      ['j1', 'cheapest candidate', null, null, 5, 5],
      ['j2', 'optimizer', 'HYBRID', 'nc', 10, 20],
      ['j3', 'cheapest candidate', null, null, 2.5, 17.5],
    ]);
    const spot = await queryRows<{ instance_type: string; spot_runs: string; preempted_runs: string; preemptions: string }>(
      client,
      `SELECT instance_type, spot_runs, preempted_runs, preemptions FROM ${db}.spot_preemption_history`,
    );
    expect(spot.map((r) => [r.instance_type, Number(r.spot_runs), Number(r.preempted_runs), Number(r.preemptions)])).toEqual([['p3', 1, 1, 1]]);
  });
});
