/**
 * The Optimizer page's server-side rendering, from fixed data: what the first paint holds,
 * the one-day cost trend, amounts under a cent, the sortable history's links, the HPO
 * best-so-far line, and escaping.
 */
import { describe, expect, it } from 'vitest';
import { renderBody, renderPage, usd } from '../../../dashboard/render.ts';
import { statusFixture } from '../../helpers/statusFixture.ts';

describe('Optimizer page rendering', () => {
  it('holds every section with its data in the HTML itself', () => {
    const html = renderPage(statusFixture());
    for (const id of ['status', 'savings', 'history', 'providers', 'trend', 'storage', 'spot', 'hpo', 'dead-letters', 'decisions']) expect(html).toContain(`id="${id}"`);
    expect(html.match(/<tr>/g)?.length).toBeGreaterThan(30);
    expect(html).toContain('BAD_MAGIC_BYTE');
    expect(html).toContain('Covers the 688 of 702 succeeded jobs that have an optimizer pick with its estimate (839 finished)');
  });

  it('draws the cost trend from the first day: one point per provider, centred, and no line yet', () => {
    const d = statusFixture();
    d.costTrend = [
      { day: '2026-07-01', provider: 'aws', cost_usd: 120 },
      { day: '2026-07-01', provider: 'gcp', cost_usd: 80 },
    ];
    const html = renderBody(d);
    const trend = html.slice(html.indexOf('id="trend-chart"'), html.indexOf('</svg>', html.indexOf('id="trend-chart"')));
    const points = [...trend.matchAll(/<circle class="point" data-provider="(\w+)" cx="([\d.]+)"/g)];
    expect(points.map((p) => p[1])).toEqual(['aws', 'gcp']);
    expect(new Set(points.map((p) => p[2]))).toEqual(new Set(['304.0'])); // (64 + (560 - 16)) / 2
    expect(trend).not.toContain('<polyline');
  });

  it('shows amounts under a cent with two significant digits, never $0.00 for a saving', () => {
    expect(usd(0.0033)).toBe('$0.0033');
    expect(usd(0.04)).toBe('$0.04');
    expect(usd(1234.5)).toBe('$1,234.50');
    expect(usd(0)).toBe('$0.00');
    expect(usd(-72.2)).toBe('−$72.20');
    const html = renderBody(statusFixture());
    const storage = html.slice(html.indexOf('id="storage-table"'), html.indexOf('</table>', html.indexOf('id="storage-table"')));
    expect([...storage.matchAll(/<td class="n">(\$[\d.,]+)<\/td><\/tr>/g)].map((m) => m[1])).toEqual(['$8.74', '$0.98', '$0.04', '$0.0033', '$0.00']);
  });

  it('links every history column to its sort, keeping the other choices, and marks the current one', () => {
    const d = statusFixture();
    d.selection = { sort: 'cost', dir: 'desc', workload: 'a1b2c3d4e5f60718', study: 'demo-mq8x1' };
    const html = renderBody(d);
    expect(html).toContain('<th class="n" aria-sort="descending"><a data-nav href="?sort=cost&amp;dir=asc&amp;workload=a1b2c3d4e5f60718&amp;study=demo-mq8x1">actual ▼</a></th>');
    expect(html).toContain('href="?sort=delta&amp;dir=desc&amp;workload=a1b2c3d4e5f60718&amp;study=demo-mq8x1"');
    // The pickers keep the other choices as hidden fields, so they work without a script.
    expect(html).toMatch(/<input type="hidden" name="study" value="demo-mq8x1"><label>workload class/);
  });

  it('draws the HPO history with a best-so-far line that never gets worse, and lists the best trials', () => {
    const html = renderBody(statusFixture());
    const chart = html.slice(html.indexOf('id="hpo-chart"'), html.indexOf('</svg>', html.indexOf('id="hpo-chart"')));
    const trials = statusFixture().hpo.trials.filter((t) => t.value !== null);
    expect(chart.match(/<circle class="trial"/g)).toHaveLength(trials.length);
    const ys = (/class="best"[^>]*points="([^"]+)"/.exec(chart)?.[1] ?? '').split(' ').map((p) => Number(p.split(',')[1]));
    // SVG y grows downwards: for a maximised objective the line only goes up (y decreases).
    for (let i = 1; i < ys.length; i++) expect(ys[i]).toBeLessThanOrEqual(ys[i - 1] as number);
    const bestTable = html.slice(html.indexOf('id="hpo-best-table"'), html.indexOf('</table>', html.indexOf('id="hpo-best-table"')));
    const values = [...bestTable.matchAll(/<td class="n">#\d+<\/td><td class="n">([\d.]+)<\/td>/g)].map((m) => Number(m[1]));
    expect(values).toEqual([...trials.map((t) => t.value as number)].sort((a, b) => b - a).slice(0, 5));
    expect(bestTable).toContain('learning_rate');
    expect(html).toContain('3 failed trials not drawn');
  });

  it('escapes what it shows', () => {
    const d = statusFixture();
    d.storage[0]!.dataset_id = '<script>alert(1)</script>';
    d.deadLettersByCode[0]!.example = 'bad "quote" & <b>';
    const html = renderBody(d);
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('bad &quot;quote&quot; &amp; &lt;b&gt;');
  });
});
