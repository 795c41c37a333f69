/**
 * The cost views on the real engine, over known rows: spend per day and month, cost per
 * point of metric improvement, the savings report and the spot preemption history; and the
 * one savings figure that the view, `cost summary` (its query, and the command itself) and
 * the status page all show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, queryRows } from '../../infra/clickhouse/client.ts';
import { toRow } from '../../infra/clickhouse/flatten.ts';
import { migrate } from '../../infra/clickhouse/migrate.ts';
import { buildLabel } from '../../processors/feedback/join.ts';
import type { TopicRole } from '../../schemas/catalog.ts';
import { EventGenerator } from '../../simulate/generator.ts';
import { savingsSummary } from '../../reporting/cost.ts';
import { statusData } from '../../dashboard/statusData.ts';
import { savingsLines } from '../../cli/commands/cost.ts';
import { envOf, testConfig } from '../helpers/testConfig.ts';
import { REPO_ROOT } from '../../infra/local/localStack.ts';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

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
    { id: 'j4', team: 't2', inst: instance('gcp', 'a2', false, 4), cost: 2, hours: 0.5, preemptions: 0, metric: null, day: 40, failed: true },
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
      status: j.failed ? ('FAILED' as const) : ('SUCCEEDED' as const),
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
      // The optimizer's picks, as the advisor writes them: j2's (HYBRID, 8 h on a $1/h azure offer: $8 for the same work),
      // j3's (the platform's own choice, 4.5 h at $4/h: $18), j4's (it failed: outside the comparison), and j1's written
      // before estimates carried their hours (no factors.hours: no optimizer cost, j1 is not covered).
      const suggestion = (job: string, ranked: object[], mode = 'HEURISTIC') => ({
        event_id: `suggestion:dispatch:${job}`,
        event_time: day1,
        source: 'DISPATCH',
        request_id: null,
        job_id: job,
        team: 't1',
        query_id: 'q',
        mode,
        model_version: mode === 'HYBRID' ? 'ltr-7' : null,
        ranked,
        chosen_cost_usd: 30,
      });
      const pick = (inst: ReturnType<typeof instance>, cost: number, factors: Record<string, number>, nodes = 1) => ({ rank: 1, instance: inst, score: 0.9, estimated_cost_usd: cost, factors, nodes });
      await insert('instance-suggestions', 'instance_suggestions', [
        suggestion('j2', [pick(instance('azure', 'nc', false, 1), 8, { cost: 1, hours: 8, gpus_used: 1, idle_gpus: 0 }), pick(instance('aws', 'cheap', false, 0.5), 9, { hours: 18 })], 'HYBRID'),
        suggestion('j3', [pick(instance('gcp', 'a2', false, 4), 18, { hours: 4.5 })]),
        suggestion('j4', [pick(instance('aws', 'cheap', false, 0.5), 1, { hours: 2 })]),
        suggestion('j1', [{ rank: 1, instance: instance('aws', 'cheap', false, 0.5), score: 0.9, estimated_cost_usd: 5, factors: { cost: 1 } }]),
      ]);
    }
  });
  let closed = false;
  afterAll(async () => {
    if (!closed) await client.close();
  });

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
      { month: '2026-04-01', team: 't2', cost: 22 },
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

  it("savings: each succeeded job against the optimizer's own pick for the same work, and how many jobs each side covers", async () => {
    const rows = await queryRows<{ job_id: string; status: string; covered: boolean; same_choice: boolean; optimizer_mode: string | null; optimizer_instance_type: string | null; optimizer_hours: number | null; optimizer_cost_usd: number | null; saving_usd: number | null }>(
      client,
      `SELECT job_id, status, covered, same_choice, optimizer_mode, optimizer_instance_type, optimizer_hours, optimizer_cost_usd, saving_usd FROM ${db}.savings_report ORDER BY job_id`,
    );
    expect(rows.map((r) => [r.job_id, r.status, Boolean(r.covered), Boolean(r.same_choice), r.optimizer_mode, r.optimizer_instance_type, r.optimizer_hours, r.optimizer_cost_usd, r.saving_usd])).toEqual([
      ['j1', 'SUCCEEDED', false, false, 'HEURISTIC', 'cheap', null, null, null],
      ['j2', 'SUCCEEDED', true, false, 'HYBRID', 'nc', 8, 8, 22],
      ['j3', 'SUCCEEDED', true, true, 'HEURISTIC', 'a2', 4.5, 18, 2],
      ['j4', 'FAILED', false, false, 'HEURISTIC', 'cheap', 2, 1, null],
    ]);
  });

  it('shows one savings figure in the view, cost summary and the status page', async () => {
    // On j2 and j3: $50 spent, $26 at the picks, $24 saved; j1 ($10) had no estimate; j4 ($2) failed.
    const expected = { finishedJobs: 4, succeededJobs: 3, coveredJobs: 2, sameChoiceJobs: 1, spentUsd: 50, optimizerUsd: 26, savingUsd: 24, uncoveredSpentUsd: 10, unsuccessfulSpentUsd: 2 };
    expect(await savingsSummary(client, db)).toEqual(expected);
    const [fromView] = await queryRows<{ spent: number; optimizer: number }>(client, `SELECT sum(actual_cost_usd) AS spent, sum(optimizer_cost_usd) AS optimizer FROM ${db}.savings_report WHERE covered`);
    expect([fromView?.spent, fromView?.optimizer]).toEqual([50, 26]);
    const status = await statusData(client, db);
    expect(status.savings).toEqual({ ...expected, storageMonthlyUsd: 0 });
    expect(savingsLines(expected)[0]).toBe("savings: on 2 of 3 succeeded jobs, $50.00 spent against $26.00 at the optimizer's picks for the same work: the picks would have saved $24.00 (48.0%)");
  });

  it('and `cost summary` prints it, run as a command', async () => {
    // The embedded engine is held by one process at a time: let the command have it.
    await client.close();
    closed = true;
    const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'bin', 'artenic-optimizer.mjs'), 'cost', 'summary', '--json'], { env: { ...process.env, ...envOf(config) }, cwd: REPO_ROOT, timeout: 60_000 });
    const printed = JSON.parse(stdout) as { savings: unknown; spend: Array<{ cost_usd: number }> };
    expect(printed.savings).toEqual({ finishedJobs: 4, succeededJobs: 3, coveredJobs: 2, sameChoiceJobs: 1, spentUsd: 50, optimizerUsd: 26, savingUsd: 24, uncoveredSpentUsd: 10, unsuccessfulSpentUsd: 2 });
    const table = await run(process.execPath, [join(REPO_ROOT, 'bin', 'artenic-optimizer.mjs'), 'cost', 'summary'], { env: { ...process.env, ...envOf(config) }, cwd: REPO_ROOT, timeout: 60_000 });
    expect(table.stdout).toContain("savings: on 2 of 3 succeeded jobs, $50.00 spent against $26.00 at the optimizer's picks for the same work: the picks would have saved $24.00 (48.0%)");
  }, 120_000);

  it('spot preemption history', async () => {
    const client = createClickHouse(config.clickhouse);
    const spot = await queryRows<{ instance_type: string; spot_runs: string; preempted_runs: string; preemptions: string }>(
      client,
      `SELECT instance_type, spot_runs, preempted_runs, preemptions FROM ${db}.spot_preemption_history`,
    );
    expect(spot.map((r) => [r.instance_type, Number(r.spot_runs), Number(r.preempted_runs), Number(r.preemptions)])).toEqual([['p3', 1, 1, 1]]);
    await client.close();
  });
});
