/** The service as a real child process, to be killed with SIGKILL or stopped with SIGTERM. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../config/options.ts';
import { REPO_ROOT } from '../../infra/local/localStack.ts';
import { envOf } from './testConfig.ts';

export interface ServiceProcess {
  child: ChildProcess;
  /** Where its status page, /api/status and /metrics answer. */
  httpUrl: string;
  /** Its SQL endpoint (ClickHouse HTTP interface), when it serves one. */
  sqlUrl: string;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** `root`: the checkout whose service runs (another one's, to compare two versions in one run). */
export async function startServiceProcess(config: Config, logFile: string, extraEnv: Record<string, string> = {}, startTimeoutMs = 90_000, root = REPO_ROOT): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [join(root, 'bin', 'artenic-optimizer.mjs'), 'run', '--summary-every', '3600'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...envOf(config), ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let httpUrl = '';
  let sqlUrl = '';
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`service did not start within ${startTimeoutMs} ms; see ${logFile}`)), startTimeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      seen = (seen + chunk.toString()).slice(-10_000);
      httpUrl ||= /"url":"(http:\/\/[^"]+)"[^\n]*status page/.exec(seen)?.[1] ?? '';
      sqlUrl ||= /"url":"(http:\/\/[^"]+)"[^\n]*SQL endpoint/.exec(seen)?.[1] ?? '';
      if (seen.includes('"msg":"running"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`service exited with ${code} before running; see ${logFile}`)));
  });
  return {
    child,
    httpUrl,
    sqlUrl,
    exited,
    kill: async (signal) => {
      child.kill(signal);
      return exited;
    },
  };
}

/** Runs the service until it exits by itself (a start that must fail); its exit code and everything it printed. */
export async function runServiceToExit(config: Config, extraEnv: Record<string, string> = {}, timeoutMs = 90_000): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'artenic-optimizer.mjs'), 'run', '--summary-every', '3600'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...envOf(config), ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  return { code, output };
}
