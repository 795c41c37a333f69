/**
 * The quality bench's objectives as a line protocol, so that Optuna's side (bench/optuna_baseline.py)
 * evaluates exactly the functions ours does: one JSON request per line on stdin,
 * {"problem": name, "params": {...}}, one JSON answer per line on stdout, {"value": v} or
 * {"error": message}.
 */
import { createInterface } from 'node:readline';
import { QUALITY_PROBLEMS } from './hpo-functions.ts';

const byName = new Map(QUALITY_PROBLEMS.map((p) => [p.name, p]));
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let answer: string;
  try {
    const request = JSON.parse(line) as { problem: string; params: Record<string, number | string | boolean> };
    const problem = byName.get(request.problem);
    if (!problem) throw new Error(`no problem '${request.problem}'`);
    answer = JSON.stringify({ value: problem.evaluate(request.params) });
  } catch (err) {
    answer = JSON.stringify({ error: (err as Error).message });
  }
  process.stdout.write(answer + '\n');
});
