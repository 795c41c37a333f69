/**
 * The trust region's restarts and scans, through 'auto' (the sampler that owns it): after a
 * collapse it starts again outside the basin it converged in, with a larger region; in a
 * space of choices and grids it first tries the neighbours of the collapsed centre; and more
 * budget keeps buying improvement (the late-budget stall of issue 16).
 */
import { describe, expect, it } from 'vitest';
import { QUALITY_PROBLEMS } from '../../../../bench/hpo-functions.ts';
import { type AuditRecord, createStudy, type ParamSpec, type Study, type StudyOptions } from '../../../../processors/hpo/index.ts';

const MIN = [{ name: 'y', direction: 'MINIMIZE' as const }];

function run(options: StudyOptions, f: (p: Record<string, unknown>) => number): { study: Study; audit: AuditRecord[] } {
  const audit: AuditRecord[] = [];
  const study = createStudy(options, { onAudit: (a) => audit.push(a) });
  while (!study.isDone()) {
    const t = study.ask();
    study.tell(t.trialId, f(t.params));
  }
  return { study, audit };
}

/** Two bowls in 3-d: a wide one at 0.25 (value 1 at its bottom) and a narrow, better one at 0.8 (value 0). */
const twoBasins = (p: Record<string, unknown>) => {
  const x = [p.a, p.b, p.c] as number[];
  const wide = 1 + x.reduce((s, v) => s + (v - 0.25) ** 2, 0) * 4;
  const narrow = x.reduce((s, v) => s + (v - 0.8) ** 2, 0) * 40;
  return Math.min(wide, narrow);
};
const cube: ParamSpec[] = ['a', 'b', 'c'].map((name) => ({ name, kind: 'FLOAT', low: 0, high: 1 }));
const localOnly = { structured: 'trust-region', local: 'trust-region', tpeShare: 0 } as const;

describe('trust region restarts', () => {
  it('starts again outside the collapsed basin, with a region twice as large (IPOP-style)', () => {
    const { study, audit } = run({ params: cube, objectives: MIN, budget: 160, seed: 3, auto: localOnly, trustRegion: { initialRadius: 0.05, minRadius: 0.01, shrink: 0.5 } }, twoBasins);
    const restarts = audit.filter((a) => a.kind === 'tr-restart' && a.detail.reason === 'collapsed');
    expect(restarts.length).toBeGreaterThanOrEqual(2);
    expect(restarts.map((r) => r.detail.nextRadius)).toEqual(restarts.map((_, i) => Math.min(0.5, 0.05 * 2 ** (i + 1))));
    const state = study.snapshot().sampler.state as { trustRegion: { run: { basins: Array<{ center: number[]; reach: number }> } } };
    const basins = state.trustRegion.run.basins;
    expect(basins.length).toBe(restarts.length);
    // Each new region started outside every basin recorded before it.
    const starts = audit.filter((a) => a.kind === 'tr-restart' && a.detail.reason === 'a new region');
    expect(starts.length).toBeGreaterThanOrEqual(1);
    for (const start of starts) {
      const center = start.detail.center as number[];
      for (const basin of basins.slice(0, start.detail.basins as number)) expect(center.some((v, k) => Math.abs(v - basin.center[k]!) > basin.reach)).toBe(true);
    }
  });

  it('the old rule (restartFrom best, no growth) goes back to the same basin', () => {
    const { audit } = run({ params: cube, objectives: MIN, budget: 160, seed: 3, auto: localOnly, trustRegion: { initialRadius: 0.05, minRadius: 0.01, shrink: 0.5, restartFrom: 'best', restartGrowth: 1 } }, twoBasins);
    const restarts = audit.filter((a) => a.kind === 'tr-restart' && a.detail.reason === 'collapsed');
    expect(restarts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(restarts.map((r) => r.detail.nextRadius))).toEqual(new Set([0.05]));
  });

  it('tries the collapsed centre with each neighbouring choice before restarting, and goes on from one that is better', () => {
    // The numeric part converges fast; the better choice ('on') is only found by the scan.
    const params: ParamSpec[] = [...cube, { name: 'mode', kind: 'CATEGORICAL', choices: ['off', 'on', 'auto'] }];
    const f = (p: Record<string, unknown>) => twoBasins(p) * 0 + ((p.a as number) - 0.3) ** 2 + ((p.b as number) - 0.6) ** 2 + ((p.c as number) - 0.5) ** 2 + (p.mode === 'on' ? 0 : 0.5);
    const audit: AuditRecord[] = [];
    const study = createStudy({ params, objectives: MIN, budget: 120, seed: 2, auto: localOnly, trustRegion: { initialRadius: 0.05, minRadius: 0.01, shrink: 0.5 } }, { onAudit: (a) => audit.push(a) });
    let scanned = 0;
    while (!study.isDone()) {
      const t = study.ask();
      const pending = study.snapshot().pending.find((p) => p.number === t.number)!;
      if (pending.tag?.scan) scanned++;
      study.tell(t.trialId, f(t.params));
    }
    expect(scanned).toBeGreaterThan(0);
    expect(study.best()!.params.mode).toBe('on');
  });
});

describe('no late-budget stall', () => {
  it.each(['rastrigin-5d', 'cat-ackley-8d'])('%s: 400 trials improve on the first 200 for at least 4 of 5 seeds', (name) => {
    const problem = QUALITY_PROBLEMS.find((p) => p.name === name)!;
    let improved = 0;
    for (let seed = 1; seed <= 5; seed++) {
      const study = createStudy({ params: problem.params, objectives: MIN, budget: 400, seed });
      let best = Infinity;
      let at200 = Infinity;
      while (!study.isDone()) {
        const t = study.ask();
        const v = problem.evaluate(t.params);
        best = Math.min(best, v);
        if (t.number === 199) at200 = best;
        study.tell(t.trialId, v);
      }
      if (best < at200) improved++;
    }
    expect(improved).toBeGreaterThanOrEqual(4);
  }, 30_000);
});
