/**
 * The launcher's memory settings: Node re-executed in place (same PID) with a smaller young
 * generation, a slower-growing old generation and two malloc arenas, unless
 * ARTENIC_PROCESS_SETTINGS=0; settings already given win, and it happens once.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { APPLIED, reexecPlan, V8_FLAGS } from '../../../bin/processSettings.mjs';

const base = { execArgv: [] as string[], argv: ['/usr/bin/node', '/app/bin/artenic-optimizer.mjs', 'run'], execPath: '/usr/bin/node', canExec: true };

describe('process settings', () => {
  it('re-executes with the V8 flags and MALLOC_ARENA_MAX=2, the arguments unchanged', () => {
    const plan = reexecPlan({ ...base, env: { PATH: '/bin' } });
    expect(plan).toEqual({
      file: '/usr/bin/node',
      args: ['/usr/bin/node', '--max-semi-space-size=16', '--heap-growing-percent=50', '/app/bin/artenic-optimizer.mjs', 'run'],
      env: { PATH: '/bin', MALLOC_ARENA_MAX: '2', [APPLIED]: '1' },
    });
  });

  it('is off with ARTENIC_PROCESS_SETTINGS=0, once applied, and without process.execve', () => {
    expect(reexecPlan({ ...base, env: { ARTENIC_PROCESS_SETTINGS: '0' } })).toBeNull();
    expect(reexecPlan({ ...base, env: { [APPLIED]: '1' } })).toBeNull();
    expect(reexecPlan({ ...base, canExec: false, env: {} })).toBeNull();
  });

  it('leaves settings already given as they are', () => {
    const plan = reexecPlan({ ...base, execArgv: ['--max-semi-space-size=64'], env: { MALLOC_ARENA_MAX: '4' } });
    expect(plan?.args).toEqual(['/usr/bin/node', '--heap-growing-percent=50', '--max-semi-space-size=64', '/app/bin/artenic-optimizer.mjs', 'run']);
    expect(plan?.env.MALLOC_ARENA_MAX).toBe('4');
  });

  it('Node 24 takes the flags, and the process that re-executes keeps its PID', () => {
    const dir = mkdtempSync(join(tmpdir(), 'settings-'));
    try {
      const settings = fileURLToPath(new URL('../../../bin/processSettings.mjs', import.meta.url));
      const probe = join(dir, 'probe.mjs');
      writeFileSync(
        probe,
        `import { writeFileSync } from 'node:fs';
import { applyProcessSettings } from ${JSON.stringify(settings)};
if (!process.env.${APPLIED}) writeFileSync(process.argv[2], String(process.pid));
applyProcessSettings();
console.log(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, arena: process.env.MALLOC_ARENA_MAX ?? null, args: process.argv.slice(2) }));`,
      );
      const run = (env: Record<string, string>) => JSON.parse(execFileSync(process.execPath, [probe, join(dir, 'pid'), 'x'], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' })) as { pid: number; execArgv: string[]; arena: string | null; args: string[] };
      const on = run({});
      expect(on.execArgv).toEqual(V8_FLAGS);
      expect(on.arena).toBe('2');
      expect(on.args).toEqual([join(dir, 'pid'), 'x']);
      expect(String(on.pid)).toBe(execFileSync('cat', [join(dir, 'pid')], { encoding: 'utf8' }));
      const off = run({ ARTENIC_PROCESS_SETTINGS: '0' });
      expect(off.execArgv).toEqual([]);
      expect(off.arena).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
