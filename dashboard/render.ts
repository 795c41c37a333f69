/**
 * The Optimizer page, rendered on the server from StatusData: the first paint shows every
 * number, table and chart without running a script (plain HTML and inline SVG, no external
 * assets). A small script then refreshes the page body every 5 s from `fragment` and keeps
 * the choices (history order, workload class, study) in the URL, so links and forms work
 * the same with or without it.
 *
 * Sections, as the seed's Optimizer page asks: status card; savings report with what it
 * covers; recommendation history (sortable: suggested pick, chosen, outcome, label, cost
 * against the pick); provider comparison for a chosen workload class; cost trends by
 * provider; storage recommendations; spot risk; HPO studies (optimisation history with the
 * best so far, parameters of the best trials); dead letters by code; recent decisions.
 */
import type { HistorySort, PageSelection, StatusData } from './statusData.ts';

const COLORS = ['#3a5ccc', '#e07b39', '#3b9e6e', '#b0478f', '#8a6d3b', '#5b8db8', '#c44e52'];

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** Dollars with cents; amounts under a cent keep two significant digits, so nothing reads $0.00 that is not 0. */
export function usd(x: number): string {
  if (!Number.isFinite(x)) return '–';
  const sign = x < 0 ? '−' : '';
  const a = Math.abs(x);
  if (a > 0 && a < 0.01) return `${sign}$${a.toPrecision(2)}`;
  return `${sign}$${a.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const num = (x: number | null | undefined, digits = 3) => (x === null || x === undefined ? '–' : x.toFixed(digits));

function bytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 || u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

/** A page URL with some choices changed, the others kept. */
function href(selection: PageSelection, change: Partial<PageSelection>): string {
  const s = { ...selection, ...change };
  const q = new URLSearchParams();
  q.set('sort', s.sort);
  q.set('dir', s.dir);
  if (s.workload) q.set('workload', s.workload);
  if (s.study) q.set('study', s.study);
  return `?${esc(q.toString())}`;
}

/** `provider/region/instance` (or `provider/instance`) as two short lines: the instance, then where. */
function offerCell(offer: string, extra = ''): string {
  const parts = offer.split('/');
  const where = (items: Array<string | undefined>) => `<br><small>${[...items.map((i) => esc(i)), extra].filter(Boolean).join(' · ')}</small>`;
  if (parts.length >= 3) return `<b>${esc(parts.slice(2).join('/'))}</b>${where([parts[0], parts[1]])}`;
  if (parts.length === 2) return `<b>${esc(parts[1])}</b>${where([parts[0]])}`;
  return `${esc(offer)}${extra ? `<br><small>${extra}</small>` : ''}`;
}

/** A long id by its end, which is what tells ids apart (the whole id is the title). */
function idCell(id: string, keep = 17): string {
  return `<span class="id" title="${esc(id)}">${esc(id.length > keep + 1 ? `…${id.slice(-keep)}` : id)}</span>`;
}

/** A timestamp as month-day and minute (the year is in the header). */
const shortTime = (t: string | null) => (t ? esc(t.replace('T', ' ').slice(5, 16)) : '–');

function kpis(items: Array<[string, string, string?]>): string {
  return `<div class="kpis">${items.map(([label, value, title]) => `<div class="kpi"${title ? ` title="${esc(title)}"` : ''}><b>${esc(value)}</b><span>${esc(label)}</span></div>`).join('')}</div>`;
}

function table(id: string, head: string[], rows: string[][], options: { numeric?: number[]; empty?: string; headHtml?: string } = {}): string {
  const numeric = new Set(options.numeric ?? []);
  const headRow = options.headHtml ?? `<tr>${head.map((h, i) => `<th${numeric.has(i) ? ' class="n"' : ''}>${esc(h)}</th>`).join('')}</tr>`;
  const body = rows.length
    ? rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric.has(i) ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`).join('')
    : `<tr class="empty"><td colspan="${head.length}">${esc(options.empty ?? 'nothing yet')}</td></tr>`;
  return `<div class="table-wrap"><table id="${id}"><thead>${headRow}</thead><tbody>${body}</tbody></table></div>`;
}

function statusCard(d: StatusData): string {
  const o = d.optimizer;
  const lag = Object.entries(d.streams.consumerLag);
  const lagText = lag.length ? lag.map(([, n]) => String(n)).join(' / ') : 'not polled yet';
  const deadLetters = Object.values(d.streams.deadLetters).reduce((a, b) => a + b, 0);
  return `<section id="status" class="card"><h2>Optimizer</h2>${kpis([
    ['mode', o.mode, o.modeReason ?? undefined],
    ['training samples', o.samples.toLocaleString('en-US')],
    ['mean label', o.meanLabel === null ? '–' : o.meanLabel.toFixed(2)],
    ['NDCG@5 held out', num(o.ndcgAt5), 'the promoted model on held-out queries'],
    ['heuristic NDCG@5', num(o.heuristicNdcgAt5), 'the heuristic ranker on the same queries'],
    ['model', o.modelVersion ?? 'none'],
    ['training runs', String(o.trainingRuns)],
    ['consumer lag', lagText, lag.map(([g, n]) => `${g}: ${n}`).join(', ') + (d.streams.consumerLagAt ? ` (as of ${d.streams.consumerLagAt})` : '')],
    ['dead letters', deadLetters.toLocaleString('en-US'), 'since this instance started'],
  ])}${o.modeReason ? `<p class="note" id="mode-reason">The heuristic serves: ${esc(o.modeReason)}.</p>` : ''}${lag.length ? `<p class="note" id="lag-groups">Lag against the last stable offset, commit markers not counted: ${lag.map(([g, n]) => `<code>${esc(g)}</code> ${n}`).join(', ')}.</p>` : ''}</section>`;
}

function savingsCard(d: StatusData): string {
  const s = d.savings;
  const count = (n: number) => n.toLocaleString('en-US');
  const verdict = s.savingUsd >= 0 ? ['potential saving', usd(s.savingUsd)] : ['the picks would cost more by', usd(-s.savingUsd)];
  const covers = s.coveredJobs
    ? `Covers the ${count(s.coveredJobs)} of ${count(s.succeededJobs)} succeeded jobs that have an optimizer pick with its estimate (${count(s.finishedJobs)} finished): what they cost against what the optimizer's own pick for each dispatch would have cost for the same work; the pick was the platform's own choice on ${count(s.sameChoiceJobs)}. Outside the comparison: ${usd(s.uncoveredSpentUsd)} on ${count(s.succeededJobs - s.coveredJobs)} succeeded jobs without a pick, ${usd(s.unsuccessfulSpentUsd)} on ${count(s.finishedJobs - s.succeededJobs)} that did not succeed.`
    : `No succeeded job has an optimizer pick with an estimate yet (${count(s.succeededJobs)} succeeded, ${count(s.finishedJobs)} finished).`;
  return `<section id="savings" class="card"><h2>Savings report</h2>${kpis([
    ['spent on the jobs compared', usd(s.spentUsd)],
    ["at the optimizer's picks", usd(s.optimizerUsd)],
    [verdict[0] as string, verdict[1] as string],
    ['storage saving / month', usd(s.storageMonthlyUsd)],
  ])}<p class="note" id="savings-coverage">${covers} Storage: the latest advice for ${count(d.storageDatasets)} datasets.</p></section>`;
}

const HISTORY_COLUMNS: Array<[HistorySort, string, boolean]> = [
  ['time', 'dispatched', false],
  ['job', 'job', false],
  ['team', 'team', false],
  ['pick', 'suggested pick', false],
  ['chosen', 'chosen', false],
  ['outcome', 'outcome', false],
  ['label', 'label', true],
  ['cost', 'actual', true],
  ['pick_cost', 'pick cost', true],
  ['delta', 'vs pick', true],
];

function historySection(d: StatusData): string {
  const sel = d.selection;
  const head = `<tr>${HISTORY_COLUMNS.map(([key, label, numeric]) => {
    const active = sel.sort === key;
    const dir = active && sel.dir === 'desc' ? 'asc' : 'desc';
    const arrow = active ? (sel.dir === 'desc' ? ' ▼' : ' ▲') : '';
    return `<th${numeric ? ' class="n"' : ''}${active ? ` aria-sort="${sel.dir === 'desc' ? 'descending' : 'ascending'}"` : ''}><a data-nav href="${href(sel, { sort: key, dir })}">${esc(label)}${arrow}</a></th>`;
  }).join('')}</tr>`;
  const rows = d.history.map((r) => {
    const outcome = r.outcome === 'SUCCEEDED' ? 'ok' : r.outcome === 'FAILED' || r.outcome === 'PREEMPTED' ? 'warn' : 'muted';
    const delta = r.delta_usd === null ? '–' : `<span class="${r.delta_usd > 0.005 ? 'warn' : r.delta_usd < -0.005 ? 'ok' : 'muted'}">${r.delta_usd > 0 ? '+' : ''}${usd(r.delta_usd)}</span>`;
    const pick = r.pick ? offerCell(r.pick, [r.mode ? esc(r.mode.toLowerCase()) : '', r.same_choice ? 'as chosen' : ''].filter(Boolean).join(' · ')) : '<span class="muted">none</span>';
    return [shortTime(r.time), idCell(r.job_id), esc(r.team), pick, offerCell(r.chosen), `<span class="${outcome}">${esc(r.outcome.toLowerCase() || '–')}</span>`, r.label === null ? '–' : String(r.label), usd(r.actual_cost_usd), r.pick_cost_usd === null ? '–' : usd(r.pick_cost_usd), delta];
  });
  return `<section id="history" class="card wide"><h2>Recommendation history <small>the ${d.history.length} ${sel.sort === 'time' && sel.dir === 'desc' ? 'latest' : 'first in this order of the'} finished jobs; click a column to sort</small></h2>${table('history-table', HISTORY_COLUMNS.map((c) => c[1]), rows, { numeric: [6, 7, 8, 9], headHtml: head, empty: 'no finished job yet' })}</section>`;
}

function providerSection(d: StatusData): string {
  const p = d.providerComparison;
  const sel = d.selection;
  const options = p.classes.map((c) => `<option value="${esc(c.queryId)}"${c.queryId === p.selected ? ' selected' : ''}>${esc(c.description)} (${c.runs} runs)</option>`).join('');
  const form = p.classes.length
    ? `<form method="get" class="picker"><input type="hidden" name="sort" value="${esc(sel.sort)}"><input type="hidden" name="dir" value="${esc(sel.dir)}">${sel.study ? `<input type="hidden" name="study" value="${esc(sel.study)}">` : ''}<label>workload class <select name="workload" data-nav>${options}</select></label><noscript><button>show</button></noscript></form>`
    : '';
  return `<section id="providers" class="card"><h2>Provider comparison <small>estimated cost of one run, cheapest feasible offer per provider</small></h2>${form}${p.bars.length ? providerChart(p.bars) : `<p class="note">${p.classes.length ? 'No offer in the catalog can run this workload.' : 'No finished job yet: the classes come from the relevance labels.'}</p>`}</section>`;
}

function providerChart(bars: StatusData['providerComparison']['bars']): string {
  const w = 580;
  const row = 40;
  const left = 58;
  const right = 262;
  const h = bars.length * row + 12;
  const max = Math.max(...bars.map((b) => b.costUsd), 1e-9);
  const parts = bars.map((b, i) => {
    const y = 6 + i * row;
    const bw = Math.max(2, ((w - left - right) * b.costUsd) / max);
    const color = COLORS[i % COLORS.length] as string;
    const [region, ...type] = b.offer.split('/');
    const tx = (left + bw + 8).toFixed(1);
    return (
      `<text class="label" x="${left - 8}" y="${y + 19}" text-anchor="end">${esc(b.provider)}</text>` +
      `<rect class="bar" data-provider="${esc(b.provider)}" x="${left}" y="${y + 4}" width="${bw.toFixed(1)}" height="${row - 14}" rx="3" fill="${color}"><title>${esc(b.provider)} ${esc(b.offer)}: ${usd(b.costUsd)} (${b.hours.toFixed(1)} h at ${usd(b.usdPerHour)}/h, ${b.source})</title></rect>` +
      `<text class="value" x="${tx}" y="${y + 14}">${usd(b.costUsd)} <tspan class="sub">· ${b.hours.toFixed(1)} h × ${usd(b.usdPerHour)}/h${b.source === 'observed' ? ', observed' : b.source === 'per A100-hour' ? ', 1 A100-hour of work assumed' : ''}</tspan></text>` +
      `<text class="sub" x="${tx}" y="${y + 29}">${esc(type.join('/'))} · ${esc(region)}</text>`
    );
  });
  return `<svg id="provider-chart" class="chart" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="estimated cost per provider">${parts.join('')}</svg>`;
}

/** Y-axis ticks at round values from 0 to at least max. */
function ticks(max: number, count = 4): number[] {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  return Array.from({ length: Math.ceil(max / step) + 1 }, (_, i) => i * step);
}

/** Round ticks (1, 2, 2.5 or 5 times a power of ten) that cover [min, max], about four of them. */
function niceRange(min: number, max: number): number[] {
  const span = max - min || Math.abs(max) || 1;
  const raw = span / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const first = Math.floor(min / step) * step;
  const out: number[] = [];
  for (let t = first; t < max + step - 1e-12 * step; t += step) out.push(Number(t.toPrecision(12)));
  if (out.length < 2) out.push(Number((first + step).toPrecision(12)));
  return out;
}

function trendSection(d: StatusData): string {
  const points = d.costTrend;
  const days = [...new Set(points.map((p) => p.day))].sort();
  const providers = [...new Set(points.map((p) => p.provider))].sort();
  const w = 560;
  const h = 240;
  const left = 64;
  const right = 16;
  const top = 12;
  const bottom = 28;
  const max = Math.max(...points.map((p) => p.cost_usd), 0);
  const ys = ticks(max || 1);
  const yMax = ys[ys.length - 1] as number;
  const x = (day: string) => (days.length < 2 ? left + (w - left - right) / 2 : left + ((w - left - right) * days.indexOf(day)) / (days.length - 1));
  const y = (v: number) => h - bottom - ((h - bottom - top) * v) / yMax;
  const grid = ys.map((t) => `<line class="grid" x1="${left}" x2="${w - right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}"/><text class="axis" x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${esc(usd(t).replace(/\.00$/, ''))}</text>`).join('');
  const xLabels = days.length
    ? days.length === 1
      ? `<text class="axis" x="${x(days[0] as string)}" y="${h - 8}" text-anchor="middle">${esc(days[0])}</text>`
      : `<text class="axis" x="${left}" y="${h - 8}" text-anchor="start">${esc(days[0])}</text><text class="axis" x="${w - right}" y="${h - 8}" text-anchor="end">${esc(days[days.length - 1])}</text>`
    : '';
  const series = providers.map((p, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const own = days.map((day) => ({ day, v: points.find((q) => q.day === day && q.provider === p)?.cost_usd ?? 0 }));
    const line = own.length > 1 ? `<polyline class="series" data-provider="${esc(p)}" fill="none" stroke="${color}" stroke-width="2" points="${own.map((o) => `${x(o.day).toFixed(1)},${y(o.v).toFixed(1)}`).join(' ')}"/>` : '';
    const dots = own.map((o) => `<circle class="point" data-provider="${esc(p)}" cx="${x(o.day).toFixed(1)}" cy="${y(o.v).toFixed(1)}" r="3.5" fill="${color}"><title>${esc(p)} ${esc(o.day)}: ${usd(o.v)}</title></circle>`).join('');
    return line + dots;
  });
  const totals = new Map(d.spendByProvider.map((s) => [s.provider, s.cost_usd]));
  const legend = providers.map((p, i) => `<li><i style="background:${COLORS[i % COLORS.length]}"></i>${esc(p)} <span class="muted">${usd(totals.get(p) ?? 0)} in all</span></li>`).join('');
  const chart = days.length
    ? `<svg id="trend-chart" class="chart" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="daily cost by provider">${grid}<line class="axis-line" x1="${left}" x2="${w - right}" y1="${h - bottom}" y2="${h - bottom}"/>${xLabels}${series.join('')}</svg><ul class="legend" id="trend-legend">${legend}</ul>`
    : '<p class="note">No spend yet.</p>';
  return `<section id="trend" class="card"><h2>Cost trends <small>daily spend by provider, last 30 days of data</small></h2>${chart}</section>`;
}

function storageSection(d: StatusData): string {
  const advice = (a: string | null) => (a === null ? 'keep' : a.toLowerCase().replace(/^convert_to_/, '→ ').replace(/_or_/g, ' or ').replace(/_/g, ' '));
  const rows = d.storage.map((r) => [idCell(r.dataset_id, 24), esc(r.tier.toLowerCase()), esc(advice(r.format_advice)), bytes(r.size_bytes), usd(r.monthly_saving_usd)]);
  return `<section id="storage" class="card"><h2>Storage recommendations <small>by monthly saving</small></h2>${table('storage-table', ['dataset', 'tier', 'format', 'size', 'saving / month'], rows, { numeric: [3, 4], empty: 'no dataset access yet' })}</section>`;
}

function spotSection(d: StatusData): string {
  const rows = d.spotRisk.map((r) => {
    return [
      offerCell(r.offer, `${r.runs} run${r.runs === 1 ? '' : 's'}`),
      `${pct(r.rate)}<br><small>${pct(r.lower)}–${pct(r.upper)}</small>`,
      esc(r.band),
      r.savings_pct === null ? '–' : `${r.savings_pct.toFixed(0)}%`,
      r.recommend ? '<span class="ok">spot</span>' : 'on-demand',
    ];
  });
  return `<section id="spot" class="card"><h2>Spot risk <small>preemption rate with its 90% interval</small></h2>${table('spot-table', ['offer', 'preemption', 'band', 'savings', 'verdict'], rows, { numeric: [1, 3], empty: 'no spot run yet' })}</section>`;
}

function hpoSection(d: StatusData): string {
  const { studies, selected, trials } = d.hpo;
  const study = studies.find((s) => s.study_id === selected);
  const sel = d.selection;
  if (!study) return `<section id="hpo" class="card wide"><h2>HPO studies</h2><p class="note">No study yet: publish one to <code>hpo-studies</code>.</p></section>`;
  const options = studies.map((s) => `<option value="${esc(s.study_id)}"${s.study_id === selected ? ' selected' : ''}>${esc(s.study_id)} (${s.finished}/${s.budget}${s.done ? ', done' : ''})</option>`).join('');
  const form = `<form method="get" class="picker"><input type="hidden" name="sort" value="${esc(sel.sort)}"><input type="hidden" name="dir" value="${esc(sel.dir)}">${sel.workload ? `<input type="hidden" name="workload" value="${esc(sel.workload)}">` : ''}<label>study <select name="study" data-nav>${options}</select></label><noscript><button>show</button></noscript></form>`;
  const objective = study.objective ?? { name: 'metric', direction: 'MAXIMIZE' as const };
  const better = (a: number, b: number) => (objective.direction === 'MAXIMIZE' ? a > b : a < b);
  const done = trials.filter((t) => t.value !== null);
  const best = [...done].sort((a, b) => (better(a.value as number, b.value as number) ? -1 : better(b.value as number, a.value as number) ? 1 : a.number - b.number)).slice(0, 5);
  const names = [...new Set(best.flatMap((t) => Object.keys(t.params)))];
  const value = (v: number | string | boolean | null) => (typeof v === 'number' ? (Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.01) ? v.toPrecision(3) : +v.toFixed(4)).toString() : esc(v === null ? '–' : String(v)));
  const bestTable = table('hpo-best-table', ['trial', objective.name, ...names], best.map((t) => [`#${t.number}`, value(t.value), ...names.map((n) => value(t.params[n] ?? null))]), { numeric: [0, 1, ...names.map((_, i) => i + 2)], empty: 'no finished trial yet' });
  const summary = `${study.strategy} · ${study.finished} of ${study.budget} trials finished${study.done ? ', done' : ''} · ${objective.direction.toLowerCase()} ${objective.name}${study.objectives > 1 ? ` (first of ${study.objectives} objectives)` : ''} · best ${study.best_value === null ? '–' : value(study.best_value)}`;
  return `<section id="hpo" class="card wide"><h2>HPO studies</h2>${form}<p class="note" id="hpo-summary">${esc(summary)}</p><div class="split"><div><h3>Optimisation history</h3>${hpoChart(trials, objective, better)}</div><div><h3>Best trials</h3>${bestTable}</div></div></section>`;
}

function hpoChart(trials: StatusData['hpo']['trials'], objective: { name: string }, better: (a: number, b: number) => boolean): string {
  const done = trials.filter((t) => t.value !== null);
  const failed = trials.length - done.length;
  if (done.length === 0) return `<p class="note">No finished trial yet${failed ? ` (${failed} failed)` : ''}.</p>`;
  const w = 560;
  const h = 240;
  const left = 64;
  const right = 16;
  const top = 12;
  const bottom = 28;
  const values = done.map((t) => t.value as number);
  const axis = niceRange(Math.min(...values), Math.max(...values));
  const [lo, hi] = [axis[0] as number, axis[axis.length - 1] as number];
  const maxN = Math.max(...trials.map((t) => t.number), 1);
  const x = (n: number) => left + ((w - left - right) * n) / maxN;
  const y = (v: number) => h - bottom - ((h - bottom - top) * (v - lo)) / (hi - lo);
  const fmt = (v: number) => (Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.01) ? v.toPrecision(3) : (+v.toFixed(3)).toString());
  const grid = axis.map((t) => `<line class="grid" x1="${left}" x2="${w - right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}"/><text class="axis" x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${esc(fmt(t))}</text>`).join('');
  let running: number | null = null;
  const steps: string[] = [];
  for (const t of done) {
    const v = t.value as number;
    if (running === null || better(v, running)) {
      if (running !== null) steps.push(`${x(t.number).toFixed(1)},${y(running).toFixed(1)}`);
      running = v;
      steps.push(`${x(t.number).toFixed(1)},${y(running).toFixed(1)}`);
    }
  }
  steps.push(`${x(maxN).toFixed(1)},${y(running as number).toFixed(1)}`);
  const dots = done.map((t) => `<circle class="trial" cx="${x(t.number).toFixed(1)}" cy="${y(t.value as number).toFixed(1)}" r="3" fill="#3a5ccc" fill-opacity="0.7"><title>trial #${t.number} (${esc(t.strategy)}): ${esc(fmt(t.value as number))}</title></circle>`).join('');
  const axes = `<line class="axis-line" x1="${left}" x2="${w - right}" y1="${h - bottom}" y2="${h - bottom}"/><text class="axis" x="${left}" y="${h - 8}">trial 0</text><text class="axis" x="${w - right}" y="${h - 8}" text-anchor="end">trial ${maxN}</text>`;
  return (
    `<svg id="hpo-chart" class="chart" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="optimisation history">${grid}${axes}${dots}<polyline class="best" fill="none" stroke="#e07b39" stroke-width="2" points="${steps.join(' ')}"/></svg>` +
    `<ul class="legend" id="hpo-legend"><li><i class="dot" style="background:#3a5ccc"></i>${esc(objective.name)} of a trial</li><li><i style="background:#e07b39"></i>best so far</li>${failed ? `<li class="muted">${failed} failed trial${failed > 1 ? 's' : ''} not drawn</li>` : ''}</ul>`
  );
}

function deadLetterSection(d: StatusData): string {
  const rows = d.deadLettersByCode.map((r) => [`<code>${esc(r.code)}</code>`, r.records.toLocaleString('en-US'), shortTime(r.last), `<span class="reason">${esc(r.example)}<br><small>from ${esc(r.topics.join(', '))}</small></span>`]);
  return `<section id="dead-letters" class="card"><h2>Dead letters by code <small>all recorded in ClickHouse</small></h2>${table('dlq-table', ['code', 'records', 'last', 'latest reason'], rows, { numeric: [1], empty: 'none' })}</section>`;
}

function decisionsSection(d: StatusData): string {
  const rows = d.recentDecisions.map((r) => [shortTime(r.time), esc(r.kind), idCell(r.subject), `<span class="reason">${esc(r.summary)}</span>`]);
  return `<section id="decisions" class="card"><h2>Recent decisions</h2>${table('decisions-table', ['time', 'kind', 'subject', 'decision'], rows)}</section>`;
}

/** The page body (header and sections): the first paint, and what the refresh swaps in. */
export function renderBody(d: StatusData): string {
  const ready = d.streams.ready ? '<span class="ok">● running</span>' : '<span class="warn">● not ready</span>';
  return (
    `<header><h1>Artenic Optimizer</h1><span id="ready">${ready}</span><span id="updated" class="muted">data as of ${esc(d.generatedAt.replace('T', ' ').slice(0, 19))} UTC</span><span id="error" class="warn"></span></header>` +
    `<main>${statusCard(d)}${savingsCard(d)}${historySection(d)}${providerSection(d)}${trendSection(d)}${storageSection(d)}${spotSection(d)}${hpoSection(d)}${deadLetterSection(d)}${decisionsSection(d)}</main>`
  );
}

const STYLE = `
:root { --fg: #1d2433; --muted: #667085; --line: #e4e7ec; --accent: #3a5ccc; --warn: #c4320a; --ok: #067647; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, sans-serif; color: var(--fg); margin: 0; background: #f7f8fa; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 12px 24px; display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; }
main { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; padding: 16px 24px; max-width: 1880px; margin: 0 auto; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 0; }
.wide { grid-column: 1 / -1; }
h2 { font-size: 15px; margin: 0 0 8px; }
h2 small { font-weight: normal; color: var(--muted); margin-left: 6px; }
h3 { font-size: 13px; margin: 4px 0 6px; color: var(--muted); font-weight: 600; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 7px; border-bottom: 1px solid var(--line); font-variant-numeric: tabular-nums; vertical-align: top; }
th { color: var(--muted); font-weight: 600; white-space: nowrap; }
th a { color: inherit; text-decoration: none; }
th a:hover { color: var(--accent); }
th[aria-sort] a { color: var(--fg); }
td { white-space: nowrap; }
td small, .sub { color: var(--muted); }
.n { text-align: right; }
.id { white-space: nowrap; }
td:has(.reason) { white-space: normal; width: 100%; }
tr.empty td { color: var(--muted); }
.kpis { display: flex; gap: 12px 24px; flex-wrap: wrap; }
.kpi b { display: block; font-size: 20px; }
.kpi span { color: var(--muted); }
.note { color: var(--muted); margin: 10px 0 0; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .muted { color: var(--muted); }
.chart { display: block; max-width: 100%; height: auto; margin-top: 6px; }
.chart text { font-size: 11px; fill: var(--muted); }
.chart text.label { font-size: 12px; fill: var(--fg); font-weight: 600; }
.chart text.value { font-size: 12px; fill: var(--fg); }
.chart tspan.sub { fill: var(--muted); font-size: 11px; }
.chart .grid { stroke: #eef0f3; } .chart .axis-line { stroke: #c9ced6; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 18px; padding: 0; margin: 6px 0 0 64px; font-size: 12px; }
.legend i { display: inline-block; width: 14px; height: 3px; margin-right: 6px; vertical-align: middle; border-radius: 2px; }
.legend i.dot { width: 8px; height: 8px; border-radius: 50%; }
.picker { margin: 0 0 4px; font-size: 13px; color: var(--muted); }
.picker select { font: inherit; margin-left: 6px; max-width: 100%; }
.split table { width: auto; min-width: 70%; }
.split { display: grid; grid-template-columns: minmax(0, 580px) minmax(0, 1fr); gap: 24px; align-items: start; }
code { font-size: 12px; }
@media (max-width: 1100px) { main { grid-template-columns: minmax(0, 1fr); } .split { grid-template-columns: minmax(0, 1fr); } }
`;

const SCRIPT = `
(() => {
  const page = document.getElementById('page');
  let refreshing = false;
  async function refresh() {
    if (refreshing) return;
    refreshing = true;
    try {
      const response = await fetch('fragment' + location.search, { cache: 'no-store' });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      page.innerHTML = await response.text();
      document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
    } catch (err) {
      const e = document.getElementById('error');
      if (e) e.textContent = 'refresh failed: ' + err.message;
    } finally {
      refreshing = false;
    }
  }
  // Links and pickers change the URL's choices and refresh in place; without this script they load the page.
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[data-nav]');
    if (!link) return;
    event.preventDefault();
    history.replaceState(null, '', link.getAttribute('href'));
    refresh();
  });
  document.addEventListener('change', (event) => {
    const select = event.target.closest('select[data-nav]');
    if (!select) return;
    history.replaceState(null, '', '?' + new URLSearchParams(new FormData(select.form)).toString());
    refresh();
  });
  setInterval(refresh, 5000);
})();
`;

/** The whole page, data included (server-side first paint). */
export function renderPage(d: StatusData): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Artenic Optimizer</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style>
</head>
<body>
<div id="page">${renderBody(d)}</div>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** What the page shows when its data cannot be read. */
export function renderUnavailable(message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Artenic Optimizer</title><style>${STYLE}</style></head><body><div id="page"><header><h1>Artenic Optimizer</h1><span class="warn">status unavailable: ${esc(message)}</span></header></div><script>setTimeout(() => location.reload(), 5000);</script></body></html>`;
}
