/**
 * The CLI's rules that need no broker and no ClickHouse, one test each, through the same
 * entry point as the binary (`runCli`), with its output captured: exit 2 for usage and
 * validation errors (commander's own included), 1 for runtime failures; numbers checked with
 * the option named; workload errors naming the field and the rule; one line without a stack
 * trace unless --debug; --json output that stays JSON when the command fails.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { runCli } from '../../../cli/program.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let out: string[];
let err: string[];

beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(`${a.join(' ')}\n`));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(`${a.join(' ')}\n`));
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (err.push(String(chunk)), true));
  // No service is configured to answer, and no ClickHouse is touched by these rules.
  process.env.ARTENIC_SQL_PORT = '0';
  process.env.ARTENIC_CLICKHOUSE_DATA_DIR = '/nonexistent/never-opened';
});

afterEach(() => {
  vi.restoreAllMocks();
  delete process.env.ARTENIC_SQL_PORT;
  delete process.env.ARTENIC_CLICKHOUSE_DATA_DIR;
});

async function cli(...args: string[]): Promise<Run> {
  const code = await runCli(['node', 'artenic-optimizer', ...args]);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('CLI rules', () => {
  it("commander's own usage errors exit 2: unknown option, unknown command, invalid choice, missing argument", async () => {
    for (const args of [['cost', 'summary', '--nope'], ['nosuch'], ['cost', 'summary', '--period', 'week'], ['sql'], ['replay']]) {
      out = [];
      err = [];
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^error: /);
    }
  });

  it('--help exits 0', async () => {
    const r = await cli('cost', 'compare', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--gpu-memory-gb');
  });

  it('numbers are checked as they are parsed, with the option named, and exit 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['cost', 'compare', '--gpus', 'abc'], /option '--gpus <n>' argument 'abc' is invalid\. expected a whole number/],
      [['cost', 'compare', '--hours', '-3'], /option '--hours <n>' argument '-3' is invalid\. must be > 0/],
      [['recommend', '--top', '0'], /option '--top <k>' argument '0' is invalid\. must be >= 1/],
      [['recommend', '--budget', '-5'], /option '--budget <usd>' argument '-5' is invalid\. must be > 0/],
      [['recommend', '--gpu-memory-gb', 'lots'], /option '--gpu-memory-gb <n>' argument 'lots' is invalid\. expected a number/],
      [['simulate', '--bad-rate', '2'], /option '--bad-rate <p>' argument '2' is invalid\. must be >= 0 and <= 1/],
    ];
    for (const [args, message] of cases) {
      out = [];
      err = [];
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('a workload error names the field and the rule, and exits 2', async () => {
    const partial = await cli('cost', 'compare', '--workload', '{"framework":"PYTORCH","num_gpus":2}');
    expect(partial.code).toBe(2);
    expect(partial.stderr).toContain('model_family: required, a string');
    expect(partial.stderr).toContain('gpu_memory_required_gb: required, a number >= 0');
    expect(partial.stderr).not.toContain('num_gpus');

    err = [];
    const wrong = await cli('recommend', '--workload', '{"framework":"PYTORCH","model_family":"cnn","param_count":1e6,"dataset_size_gb":1,"gpu_memory_required_gb":8,"num_gpus":"two","gpus":1}');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('num_gpus: must be a whole number >= 0 and <= 1024, got "two"');
    expect(wrong.stderr).toContain('gpus: unknown field');

    err = [];
    const range = await cli('recommend', '--workload', '{"framework":"PYTORCH","model_family":"cnn","param_count":1e6,"dataset_size_gb":-1,"gpu_memory_required_gb":8,"num_gpus":1}');
    expect(range.stderr).toContain('dataset_size_gb: must be >= 0, got -1');

    err = [];
    const flag = await cli('cost', 'compare', '--framework', 'caffe');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--framework: must be one of PYTORCH, TENSORFLOW, .*got "CAFFE"/);

    err = [];
    const notJson = await cli('cost', 'compare', '--workload', '{oops');
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/--workload is not JSON/);
  });

  it('other validation errors exit 2 too: a bad --at, an empty region list', async () => {
    const at = await cli('storage', 'analyze', '--at', 'yesterday');
    expect(at.code).toBe(2);
    expect(at.stderr).toContain('--at yesterday: expected an ISO time');
    err = [];
    const regions = await cli('recommend', '--regions', 'us-east-1,');
    expect(regions.code).toBe(2);
    expect(regions.stderr).toContain('--regions us-east-1,: expected a comma-separated list');
  });

  it('the binary exits with the code runCli returns', async () => {
    const { spawnSync } = await import('node:child_process');
    const { join } = await import('node:path');
    const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'artenic-optimizer.mjs');
    const r = spawnSync(process.execPath, [bin, 'recommend', '--top', '0', '--json'], { encoding: 'utf8', env: { ...process.env, ARTENIC_SQL_PORT: '0' } });
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 'USAGE' });
  });

  it('-p without =value is a usage error naming it', async () => {
    const r = await cli('sql', 'SELECT {x:UInt8}', '-p', 'x');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--param x: expected name=value');
  });

  it('--json with a FORMAT clause in the query is a usage error', async () => {
    const r = await cli('sql', 'SELECT 1 FORMAT CSV', '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 'USAGE' });
  });

  it('a runtime failure exits 1 with one line and no stack trace; --debug adds the stack', async () => {
    const r = await cli('status', '--url', 'http://127.0.0.1:9');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: no service answers at http:\/\/127\.0\.0\.1:9/)]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    err = [];
    const debug = await cli('status', '--url', 'http://127.0.0.1:9', '--debug');
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('--json output is JSON, errors included: usage errors and status with nothing answering', async () => {
    const usage = await cli('cost', 'compare', '--gpus', 'abc', '--json');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toBe('');
    expect(JSON.parse(usage.stdout)).toEqual({ error: expect.stringContaining("'--gpus <n>'"), code: 'USAGE' });
    out = [];
    const status = await cli('status', '--url', 'http://127.0.0.1:9', '--json');
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout)).toEqual({ error: expect.stringContaining('no service answers'), code: 'FAILED' });
  });

  it('a bad setting is a configuration error: exit 2, naming the setting', async () => {
    process.env.ARTENIC_SQL_PORT = 'eighty';
    const r = await cli('settings');
    expect(r.code).toBe(0); // settings lists, it does not load the configuration
    out = [];
    err = [];
    const s = await cli('status');
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('sql.port (ARTENIC_SQL_PORT)');
  });
});
