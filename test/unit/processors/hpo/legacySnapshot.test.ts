import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { restoreStudy, type Configuration, type ParamSpec, type Study, type StudySnapshotV1 } from '../../../../processors/hpo/index.ts';

/**
 * Snapshots written by the version-1 engine (one snapshot per study, every strategy in one
 * JSON object; commit 830c782, before the samplers), taken mid-run with trials pending, and the
 * asks that engine made after them. A changelog written by a running service holds such
 * snapshots: the current engine must restore them and run the study to its end. The strategies
 * whose algorithm did not change (Sobol, random, NSGA-II, Nelder–Mead on a continuous space)
 * must then ask exactly what the old engine asked; 'auto' and TPE on grids and choices changed
 * on purpose (issue 16: mixed spaces, restarts), so theirs must only be valid and deterministic.
 */
const FILE = join(dirname(fileURLToPath(import.meta.url)), '__golden__', 'v1-snapshots.json');
interface LegacyCase {
  snapshot: StudySnapshotV1;
  asksAfter: Array<{ number: number; strategy: string; params: Configuration }>;
  rugged: boolean;
}
const cases = JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, LegacyCase>;

/** The objective the snapshots were written with (as in goldenTrace.ts). */
function objective(p: Configuration, specs: readonly ParamSpec[], rugged: boolean): number {
  let s = 0;
  specs.forEach((spec, k) => {
    const v = p[spec.name];
    let u: number;
    if (spec.kind === 'CATEGORICAL') u = (spec.choices!.indexOf(String(v)) + 0.5) / spec.choices!.length;
    else if (spec.log) u = Math.log((v as number) / (spec.low as number)) / Math.log((spec.high as number) / (spec.low as number));
    else u = ((v as number) - (spec.low as number)) / ((spec.high as number) - (spec.low as number));
    const c = u - 0.2 - 0.05 * (k % 5);
    s += rugged ? c * c * 10 - Math.cos(2 * Math.PI * 7 * c) : c * c * (1 + k);
  });
  return s;
}

/** Continues a restored study the way the snapshot's writer continued it; returns the asks. */
function replay(study: Study, c: LegacyCase): Array<{ number: number; strategy: string; params: Configuration }> {
  const specs = c.snapshot.options.params;
  const multi = c.snapshot.options.objectives.length > 1;
  const value = (t: { number: number; params: Configuration }) => {
    if (t.number % 13 === 7) return null;
    const y = objective(t.params, specs, c.rugged);
    return multi ? [y, objective(t.params, specs, !c.rugged)] : y;
  };
  const asks: Array<{ number: number; strategy: string; params: Configuration }> = [];
  let index = c.snapshot.nextNumber;
  while (!study.isDone()) {
    if (study.canAsk()) {
      const t = study.ask();
      asks.push({ number: t.number, strategy: t.strategy, params: t.params });
      index++;
      if (study.canAsk()) continue;
    }
    const pending = study.pending();
    const next = index % 3 === 0 ? pending[pending.length - 1]! : pending[0]!;
    study.tell(next.trialId, value(next));
  }
  return asks;
}

const UNCHANGED = new Set(['sobol-mixed', 'random-mixed', 'nsga2-mixed-par2', 'nelder-mead-float3-par2']);

describe('snapshots of the version-1 engine', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(`${name}: restores and ${UNCHANGED.has(name) ? 'asks what the version-1 engine asked' : 'runs the study to its end'}`, () => {
      const study = restoreStudy(structuredClone(c.snapshot));
      expect(study.asked()).toBe(c.snapshot.nextNumber);
      expect(study.pending().map((t) => t.number)).toEqual(c.snapshot.pending.map((p) => p.number));
      const asks = replay(study, c);
      if (UNCHANGED.has(name)) {
        expect(asks).toEqual(c.asksAfter);
        return;
      }
      expect(asks.map((a) => a.number)).toEqual(c.asksAfter.map((a) => a.number));
      expect(study.isDone()).toBe(true);
      expect(replay(restoreStudy(structuredClone(c.snapshot)), c)).toEqual(asks);
      if (c.snapshot.best) expect(study.best()!.value).toBeLessThanOrEqual(c.snapshot.best.values[0]!);
    });
  }
});
