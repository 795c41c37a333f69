/**
 * The Optimizer page, served by the running service, in real headless Chromium. Against live
 * data (jobs, dataset accesses, bad records and an HPO study run through the real broker into
 * ClickHouse): with scripts off, the first paint already holds every section; the history sorts
 * and the pickers choose with and without scripts; with scripts on, the page refreshes in place.
 * Over fixed data, at 1280 and 1920 px: no table or chart is cut off, no text overlaps, and the
 * screenshots match the committed baselines.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../infra/clickhouse/client.ts';
import { EventGenerator } from '../../simulate/generator.ts';
import { Publisher } from '../../simulate/publisher.ts';
import { demoAccuracy, demoStudy, runTrials } from '../../simulate/hpoTrials.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createLogger } from '../../common/logger.ts';
import { startService, type RunningServiceHandle } from '../../app/service.ts';
import type { StatusData } from '../../dashboard/statusData.ts';
import { renderBody, renderPage } from '../../dashboard/render.ts';
import { launchChromium } from '../helpers/browser.ts';
import { statusFixture } from '../helpers/statusFixture.ts';
import { testConfig, waitUntil } from '../helpers/testConfig.ts';

const baseline = (width: number) => join(import.meta.dirname, '__screenshots__', `status-page-${width}.png`);

/** Amounts as the page prints them ($1,234.50, −$72.20, $0.0033) back to numbers. */
const dollars = (text: string) => Number(text.replace(/[$,]/g, '').replace('−', '-'));

async function columnValues(page: Page, table: string, column: number): Promise<string[]> {
  return page.locator(`#${table} tbody tr`).evaluateAll((rows, c) => rows.map((r) => (r.children[c] as HTMLElement | undefined)?.innerText.trim() ?? ''), column);
}

describe('Optimizer page in Chromium', () => {
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
    publisher.addRaw('job-dispatch', 'garbage', Buffer.from('not avro'));
    await publisher.close();
    // A small study, its trials run as jobs through the service.
    const study = { ...demoStudy('page-study', start), budget: 8, parallelism: 2, seed: 3 };
    await runTrials(createKafka(config, logger, '-trials'), service.serde, config, { study, objective: demoAccuracy, startAt: start + 60_000, trialMs: 60_000, timeoutMs: 120_000 }, logger);
    const db = config.clickhouse.database;
    await waitUntil('decisions in ClickHouse', async () => {
      const [r] = await queryRows<{ l: string; s: string; t: string; d: string; h: string }>(
        service.clickhouse,
        `SELECT (SELECT count() FROM ${db}.relevance_labels) AS l, (SELECT count() FROM ${db}.spot_risk) AS s, (SELECT count() FROM ${db}.tiering_decisions) AS t,
                (SELECT count() FROM ${db}.dead_letters) AS d, (SELECT count() FROM ${db}.relevance_labels WHERE hpo_study_id = 'page-study') AS h`,
      );
      return Number(r?.l) > 250 && Number(r?.s) > 0 && Number(r?.t) > 0 && Number(r?.d) > 0 && Number(r?.h) >= 8;
    }, 120_000);
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it('shows live data in its first paint, without running any script', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const response = await page.goto(service.httpUrl);
    expect(response?.status()).toBe(200);
    expect(await page.locator('#status').innerText()).toMatch(/HEURISTIC|HYBRID/);
    expect(await page.locator('#status').innerText()).toContain('training samples');
    expect(await page.locator('#ready').innerText()).toContain('running');
    // Recommendation history: the latest 50 of 300 jobs, each with its pick, outcome and label.
    expect(await page.locator('#history-table tbody tr').count()).toBe(50);
    expect((await columnValues(page, 'history-table', 3)).filter((p) => p !== 'none').length).toBeGreaterThan(40);
    expect(new Set(await columnValues(page, 'history-table', 5))).not.toEqual(new Set(['–']));
    // Provider comparison for the busiest workload class: a bar per provider that can run it.
    expect(await page.locator('#providers select option').count()).toBeGreaterThan(1);
    expect(await page.locator('#provider-chart rect.bar').count()).toBeGreaterThan(1);
    // Cost trend: a point per provider and day, from the first day.
    const status = (await (await fetch(`${service.httpUrl}/api/status`)).json()) as StatusData;
    expect(await page.locator('#trend-chart circle.point').count()).toBe(new Set(status.costTrend.map((t) => t.provider)).size * new Set(status.costTrend.map((t) => t.day)).size);
    // Storage by saving, cents shown.
    const savings = (await columnValues(page, 'storage-table', 4)).map(dollars);
    expect(savings.length).toBeGreaterThan(0);
    expect(savings).toEqual([...savings].sort((a, b) => b - a));
    expect(await page.locator('#spot-table tbody tr').count()).toBe(status.spotRisk.length);
    // The HPO study: its trials, the best so far, its best trials' parameters.
    expect(await page.locator('#hpo select option').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#hpo-chart circle.trial').count()).toBeGreaterThan(0);
    expect(await page.locator('#hpo-chart polyline.best').count()).toBe(1);
    expect(await page.locator('#hpo-best-table thead').innerText()).toContain('learning_rate');
    expect(await page.locator('#dlq-table').innerText()).toContain('BAD_MAGIC_BYTE');
    expect(await page.locator('#savings-coverage').innerText()).toMatch(/Covers the \d+ of \d+ succeeded jobs that have an optimizer pick/);
    await context.close();
  });

  it('sorts the history and picks a workload class, with scripts and without', async () => {
    const noScript = await browser.newContext({ javaScriptEnabled: false });
    const plain = await noScript.newPage();
    await plain.goto(`${service.httpUrl}/?sort=cost&dir=desc`);
    const costs = (await columnValues(plain, 'history-table', 7)).map(dollars);
    expect(costs).toEqual([...costs].sort((a, b) => b - a));
    expect(await plain.locator('#history th[aria-sort="descending"]').innerText()).toContain('actual');
    // The picker is a form: without a script, choosing a class and submitting loads it.
    const second = await plain.locator('#providers select option').nth(1).getAttribute('value');
    await plain.locator('#providers select').selectOption(second as string);
    await Promise.all([plain.waitForURL(/workload=/), plain.locator('#providers button').click()]);
    expect(new URL(plain.url()).searchParams.get('workload')).toBe(second);
    expect(new URL(plain.url()).searchParams.get('sort')).toBe('cost');
    await noScript.close();

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(service.httpUrl);
    await page.locator('#history th a', { hasText: 'actual' }).click();
    await page.waitForFunction(() => new URL(location.href).searchParams.get('sort') === 'cost' && document.querySelector('#history th[aria-sort]')?.textContent?.includes('actual'));
    const sorted = (await columnValues(page, 'history-table', 7)).map(dollars);
    expect(sorted).toEqual([...sorted].sort((a, b) => b - a));
    await page.locator('#providers select').selectOption({ index: 1 });
    await page.waitForFunction(() => new URL(location.href).searchParams.has('workload'));
    await page.waitForFunction(() => Number(document.body.dataset.refreshed ?? 0) >= 2);
    expect(await page.locator('#providers select').inputValue()).toBe(new URL(page.url()).searchParams.get('workload'));
    expect(errors).toEqual([]);
    await page.close();
  });

  it('refreshes in place every 5 s, and serves /metrics, /healthz and /readyz', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(service.httpUrl);
    await page.waitForFunction(() => Number(document.body.dataset.refreshed ?? 0) >= 1, undefined, { timeout: 20_000 });
    expect(await page.locator('#history-table tbody tr').count()).toBe(50);
    expect(await page.locator('#error').innerText()).toBe('');
    expect(errors).toEqual([]);
    await page.close();

    expect((await fetch(`${service.httpUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${service.httpUrl}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${service.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/artenic_records_consumed_total\{source="job-dispatch"\} \d+/);
    expect(metrics).toMatch(/artenic_batch_processing_seconds_count\{source="job-outcome"\} [1-9]/);
    expect(metrics).toMatch(/artenic_clickhouse_insert_seconds_count [1-9]/);
    expect(metrics).toMatch(/artenic_state_store_entries\{store="feedback-pending"\} \d+/);
    expect(metrics).toMatch(/artenic_consumer_lag\{group="[^"]+",topic="[^"]+"\} \d+/);
  });

  for (const width of [1280, 1920]) {
    it(`over fixed data at ${width} px: nothing cut off or overlapping, and like the baseline`, async () => {
      const fixture = statusFixture();
      const context = await browser.newContext({ viewport: { width, height: 900 }, timezoneId: 'UTC', locale: 'en-US' });
      const page = await context.newPage();
      await page.route('http://status.test/**', (route) =>
        route.fulfill({ contentType: 'text/html; charset=utf-8', body: new URL(route.request().url()).pathname === '/fragment' ? renderBody(fixture) : renderPage(fixture) }),
      );
      await page.goto('http://status.test/');
      const problems = await page.evaluate(() => {
        const found: string[] = [];
        for (const wrap of document.querySelectorAll<HTMLElement>('.table-wrap')) {
          if (wrap.scrollWidth > wrap.clientWidth + 1) found.push(`table ${wrap.querySelector('table')?.id} is ${wrap.scrollWidth - wrap.clientWidth}px wider than its card`);
        }
        const inside = (a: DOMRect, b: DOMRect) => a.left >= b.left - 0.5 && a.right <= b.right + 0.5 && a.top >= b.top - 0.5 && a.bottom <= b.bottom + 0.5;
        const overlap = (a: DOMRect, b: DOMRect) => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
        for (const svg of document.querySelectorAll<SVGSVGElement>('svg.chart')) {
          const box = svg.getBoundingClientRect();
          const card = svg.closest('.card')!.getBoundingClientRect();
          if (!inside(box, card)) found.push(`${svg.id} leaves its card`);
          const texts = [...svg.querySelectorAll('text')].map((t) => ({ t: t.textContent, r: t.getBoundingClientRect() }));
          for (const { t, r } of texts) if (!inside(r, box)) found.push(`${svg.id}: "${t}" is cut off`);
          for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) if (overlap(texts[i]!.r, texts[j]!.r)) found.push(`${svg.id}: "${texts[i]!.t}" overlaps "${texts[j]!.t}"`);
          const legend = svg.nextElementSibling;
          if (legend?.classList.contains('legend') && legend.getBoundingClientRect().top < box.bottom - 0.5) found.push(`${svg.id}: its legend overlaps the chart`);
        }
        const cards = [...document.querySelectorAll<HTMLElement>('.card')].map((c) => ({ id: c.id, r: c.getBoundingClientRect() }));
        for (let i = 0; i < cards.length; i++) for (let j = i + 1; j < cards.length; j++) if (overlap(cards[i]!.r, cards[j]!.r)) found.push(`${cards[i]!.id} overlaps ${cards[j]!.id}`);
        for (const c of cards) if (c.r.right > document.documentElement.clientWidth) found.push(`${c.id} runs past the window`);
        return found;
      });
      expect(problems).toEqual([]);
      const shot = PNG.sync.read(await page.screenshot({ fullPage: true }));
      await context.close();
      const file = baseline(width);
      if (!existsSync(file) || process.env.UPDATE_SCREENSHOTS === '1') {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, PNG.sync.write(shot));
        throw new Error(`baseline written to ${file}: look at it, commit it, and run again`);
      }
      const expected = PNG.sync.read(readFileSync(file));
      expect([shot.width, shot.height]).toEqual([expected.width, expected.height]);
      let differing = 0;
      for (let i = 0; i < shot.data.length; i += 4) {
        const d = Math.max(...[0, 1, 2].map((c) => Math.abs((shot.data[i + c] as number) - (expected.data[i + c] as number))));
        if (d > 24) differing++;
      }
      // Anti-aliasing may move a few pixels; a layout change moves thousands.
      expect(differing / (shot.width * shot.height)).toBeLessThan(0.005);
    });
  }
});
