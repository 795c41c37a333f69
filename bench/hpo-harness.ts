/**
 * Shared by the HPO benches: a study with a history of a given size, and ask() timings on it.
 *
 * Filling a history of 1000 trials with TPE itself would take minutes at d = 200, so the
 * history comes from a Sobol study (a fast strategy), and its snapshot is restored with the
 * strategy under test: the same state a long run would have, minus the wait. For 'auto', the
 * probe is marked complete, so the first timed ask classifies the landscape and picks the
 * refiner (reported beside the timings).
 */
import { createStudy, restoreStudy, type StrategyName, type Study, type StudySnapshot } from '../processors/hpo/index.ts';
import type { Configuration, ParamSpec } from '../processors/hpo/space.ts';

export function unitParams(d: number): ParamSpec[] {
  return Array.from({ length: d }, (_, i) => ({ name: `x${i}`, kind: 'FLOAT', low: 0, high: 1, log: false, choices: [] }));
}

/** A cheap smooth objective in the unit cube (its value does not matter for timing). */
export function shiftedSphere(params: Configuration): number {
  let s = 0;
  for (const v of Object.values(params)) s += ((v as number) - 0.3) ** 2;
  return s;
}

export function studyWithHistory(strategy: StrategyName, d: number, history: number, extra: number, seed = 1): Study {
  const objectives = strategy === 'nsga2' ? [{ name: 'a', direction: 'MINIMIZE' as const }, { name: 'b', direction: 'MINIMIZE' as const }] : [{ name: 'y', direction: 'MINIMIZE' as const }];
  const value = (p: Configuration) => (strategy === 'nsga2' ? [shiftedSphere(p), (p.x0 as number) ?? 0] : shiftedSphere(p));
  const budget = history + extra;
  const filler = createStudy({ params: unitParams(d), objectives, budget, seed, strategy: 'sobol' });
  for (let i = 0; i < history; i++) {
    const t = filler.ask();
    filler.tell(t.trialId, value(t.params));
  }
  const snapshot: StudySnapshot = filler.snapshot();
  // Restored under another strategy, the study switches to it: its sampler starts on the history ('auto' takes it as its probe).
  snapshot.options.strategy = strategy;
  return restoreStudy(snapshot);
}

export interface AskTiming {
  p50: number;
  p99: number;
  /** Strategies that produced the timed asks. */
  strategies: string[];
}

/** Times `repeats` asks (microseconds), telling each result untimed. */
export function timeAsks(study: Study, repeats: number, nsga = false): AskTiming {
  const times: number[] = [];
  const strategies = new Set<string>();
  for (let i = 0; i < repeats; i++) {
    const started = process.hrtime.bigint();
    const t = study.ask();
    times.push(Number(process.hrtime.bigint() - started) / 1e3);
    strategies.add(t.strategy);
    study.tell(t.trialId, nsga ? [shiftedSphere(t.params), t.params.x0 as number] : shiftedSphere(t.params));
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length / 2)] as number, p99: times[Math.min(times.length - 1, Math.floor(0.99 * times.length))] as number, strategies: [...strategies] };
}

export function machineLine(): Promise<string> {
  return import('node:os').then(
    ({ cpus, totalmem, loadavg }) => `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; 1-min load average ${loadavg()[0]!.toFixed(1)} when it started`,
  );
}
