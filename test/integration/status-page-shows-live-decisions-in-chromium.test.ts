/**
 * The status page, served by the running service, in real headless Chromium: it shows the
 * optimizer's numbers, recent decisions, spend by provider as bars, the cost trend as
 * lines, spot risk and storage recommendations, all read from ClickHouse; /metrics,
 * /healthz and /readyz answer. A screenshot of the page over fixed data matches the
 * committed baseline.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../infra/clickhouse/client.ts';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { startService, type RunningServiceHandle } from '../../app/service.ts';
import type { StatusData } from '../../dashboard/statusData.ts';
import { launchChromium } from '../helpers/browser.ts';
import { testConfig, waitUntil } from '../helpers/testConfig.ts';

const BASELINE = join(import.meta.dirname, '__screenshots__', 'status-page.png');

describe('status page in Chromium', () => {
  const config = testConfig();
  const logger = createLogger('warn');
  let service: RunningServiceHandle;
  let browser: Browser;

  beforeAll(async () => {
    service = await startService(config, logger);
    browser = await launchChromium();
    const publisher = await Publisher.connect(createKafka(config, logger, '-publisher'), service.serde, config.topics);
    const g = new EventGenerator({ seed: 23, runId: 'page' });
    const start = Date.UTC(2026, 6, 1);
    await publisher.addCatalog(start);
    await publisher.addJobs(Array.from({ length: 300 }, (_, i) => g.job(start + i * 600_000)));
    for (let i = 0; i < 200; i++) {
      const a = g.datasetAccess(start + i * 1_800_000);
      if (a) await publisher.add('dataset-access', a.dataset_id, a);
    }
    await publisher.close();
    const db = config.clickhouse.database;
    await waitUntil('decisions in ClickHouse', async () => {
      const [r] = await queryRows<{ l: string; s: string; t: string }>(
        service.clickhouse,
        `SELECT (SELECT count() FROM ${db}.relevance_labels) AS l, (SELECT count() FROM ${db}.spot_risk) AS s, (SELECT count() FROM ${db}.tiering_decisions) AS t`,
      );
      return Number(r?.l) > 250 && Number(r?.s) > 0 && Number(r?.t) > 0;
    }, 120_000);
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it('renders live data from ClickHouse', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    // Data keeps arriving: check the page against the very response it rendered.
    const rendered = page.waitForResponse((r) => r.url().endsWith('/api/status'));
    await page.goto(service.httpUrl);
    const response = await rendered;
    expect(response.status(), await response.text()).toBe(200);
    const status = (await response.json()) as StatusData;
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 }).catch(async (err: Error) => {
      throw new Error(`${err.message}; page errors: ${errors.join('; ')}; shown: ${await page.locator('#error').innerText()}`);
    });
    const kpis = await page.locator('#optimizer-kpis').innerText();
    // 300 jobs: the ranker has trained; it serves HYBRID once a model was promoted.
    expect(kpis).toMatch(/HEURISTIC|HYBRID/);
    expect(kpis).toContain('training samples');
    expect(await page.locator('#spend-chart rect.bar').count()).toBe(status.spendByProvider.length);
    expect(status.spendByProvider.length).toBeGreaterThan(1);
    expect(await page.locator('#trend-chart polyline.series').count()).toBe(new Set(status.costTrend.map((t) => t.provider)).size);
    expect(await page.locator('#decisions-table tbody tr').count()).toBe(20);
    expect(await page.locator('#spot-table tbody tr').count()).toBe(status.spotRisk.length);
    expect(status.spotRisk.length).toBeGreaterThan(0);
    expect(await page.locator('#storage-table tbody tr').count()).toBe(status.storage.length);
    expect(await page.locator('#ready').innerText()).toContain('running');
    await page.close();

    expect((await fetch(`${service.httpUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${service.httpUrl}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${service.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`artenic_records_consumed_total\\{source="job-dispatch"\\} ${service.streams.counters.consumed['job-dispatch']}`));
    expect(metrics).toMatch(/artenic_batch_processing_seconds_count\{source="job-outcome"\} [1-9]/);
    expect(metrics).toMatch(/artenic_clickhouse_insert_seconds_count [1-9]/);
    expect(metrics).toMatch(/artenic_state_store_entries\{store="feedback-pending"\} \d+/);
    expect(metrics).toMatch(/artenic_consumer_lag\{group="[^"]+",topic="[^"]+"\} \d+/);
  });

  it('looks like the baseline over fixed data', async () => {
    const fixture: StatusData = {
      generatedAt: '2026-07-01T12:00:00.000Z',
      optimizer: { mode: 'HYBRID', samples: 1234, meanLabel: 2.61, modelVersion: 'ltr-3', ndcgAt5: 0.912, ndcgAt10: 0.934, mrr: 0.88, heuristicNdcgAt5: 0.801, trainingRuns: 5 },
      streams: { ready: true, consumerLag: { 'artenic-optimizer': 12, 'artenic-optimizer-sink': 3 }, consumerLagAt: null, consumed: {}, produced: {}, deadLetters: { BAD_MAGIC_BYTE: 3 }, transactions: 10, stateEntries: 5 },
      sink: { bufferedRows: 0, rowsInserted: {}, paused: false },
      recentDecisions: Array.from({ length: 6 }, (_, i) => ({ time: `2026-07-01 11:5${i}:00.000`, kind: 'relevance label', subject: `job-${i}`, summary: `label ${i % 5} on g5.xlarge` })),
      spendByProvider: [
        { provider: 'aws', cost_usd: 1200, runs: 40 },
        { provider: 'gcp', cost_usd: 800, runs: 30 },
        { provider: 'azure', cost_usd: 300, runs: 12 },
      ],
      costTrend: ['2026-06-28', '2026-06-29', '2026-06-30', '2026-07-01'].flatMap((day, i) => [
        { day, provider: 'aws', cost_usd: 300 + 20 * i },
        { day, provider: 'gcp', cost_usd: 180 + 15 * i },
      ]),
      spotRisk: [
        { offer: 'aws/us-east-1/g5.xlarge', runs: 40, rate: 0.08, lower: 0.03, upper: 0.15, band: '5-10%', savings_pct: 64, recommend: true },
        { offer: 'gcp/us-central1/a3-highgpu-8g', runs: 12, rate: 0.27, lower: 0.12, upper: 0.45, band: '>20%', savings_pct: 65, recommend: false },
      ],
      storage: [
        { dataset_id: 'ds-001', tier: 'COLD', format_advice: 'CONVERT_TO_PARQUET', monthly_saving_usd: 12.5 },
        { dataset_id: 'ds-002', tier: 'WARM', format_advice: null, monthly_saving_usd: 1.2 },
      ],
      savings: { actualUsd: 2300, suggestedUsd: 1900, potentialUsd: 400, storageMonthlyUsd: 13.7 },
    };
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 }, timezoneId: 'UTC', locale: 'en-US' });
    const page = await context.newPage();
    await page.route('**/api/status', (route) => route.fulfill({ contentType: 'application/json', body: JSON.stringify(fixture) }));
    await page.goto(service.httpUrl);
    await page.waitForSelector('body[data-loaded="true"]');
    const shot = PNG.sync.read(await page.screenshot({ fullPage: true }));
    await context.close();
    if (!existsSync(BASELINE) || process.env.UPDATE_SCREENSHOTS === '1') {
      writeFileSync(BASELINE, PNG.sync.write(shot));
      throw new Error(`baseline written to ${BASELINE}: review it, commit it, and run again`);
    }
    const baseline = PNG.sync.read(readFileSync(BASELINE));
    expect([shot.width, shot.height]).toEqual([baseline.width, baseline.height]);
    let differing = 0;
    for (let i = 0; i < shot.data.length; i += 4) {
      const d = Math.max(...[0, 1, 2].map((c) => Math.abs((shot.data[i + c] as number) - (baseline.data[i + c] as number))));
      if (d > 24) differing++;
    }
    // Anti-aliasing may move a few pixels; a layout change moves thousands.
    expect(differing / (shot.width * shot.height)).toBeLessThan(0.005);
  });
});
