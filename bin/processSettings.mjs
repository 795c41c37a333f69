// Memory settings for the service's Node process, applied by re-executing Node in place
// (process.execve: same PID, same stdio) before anything else loads. Plain JavaScript: it runs
// before tsx is registered.
//
// - --max-semi-space-size=16: V8's young generation grows up to 16 MiB per semi-space (its
//   default on a 64-bit machine is larger): fewer MiB held between scavenges.
// - --heap-growing-percent=50: the old generation's next GC limit is 1.5x the live heap after
//   a mark-compact, not V8's default factor: the heap reserved stays closer to the live heap.
// - MALLOC_ARENA_MAX=2: glibc makes up to 8 malloc arenas per core, each holding freed memory;
//   two are enough for a process whose JavaScript runs on one thread.
//
// ARTENIC_PROCESS_SETTINGS=0 turns it off (run as started). A MALLOC_ARENA_MAX or a V8 flag
// already given wins over these.

export const V8_FLAGS = ['--max-semi-space-size=16', '--heap-growing-percent=50'];
export const MALLOC_ARENA_MAX = '2';
/** Set in the re-executed process, so that it does not re-execute again. */
export const APPLIED = 'ARTENIC_PROCESS_SETTINGS_APPLIED';

/**
 * What to re-execute with, or null when nothing is to be done: turned off, already applied, or
 * a Node without process.execve (before 22.15 / 23.11).
 * @param {{ env: Record<string, string | undefined>, execArgv: string[], argv: string[], execPath: string, canExec: boolean }} p
 * @returns {{ file: string, args: string[], env: Record<string, string> } | null}
 */
export function reexecPlan({ env, execArgv, argv, execPath, canExec }) {
  if (env.ARTENIC_PROCESS_SETTINGS === '0' || env[APPLIED] === '1' || !canExec) return null;
  const given = (flag) => execArgv.some((a) => a.split('=')[0] === flag.split('=')[0]);
  const flags = V8_FLAGS.filter((f) => !given(f));
  const next = { ...env, [APPLIED]: '1', MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? MALLOC_ARENA_MAX };
  const clean = Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined));
  return { file: execPath, args: [execPath, ...flags, ...execArgv, ...argv.slice(1)], env: clean };
}

/** Re-executes this process with the settings, when the plan says so; returns only when it does not. */
export function applyProcessSettings() {
  const plan = reexecPlan({ env: process.env, execArgv: process.execArgv, argv: process.argv, execPath: process.execPath, canExec: typeof process.execve === 'function' });
  if (plan) process.execve(plan.file, plan.args, plan.env);
}
