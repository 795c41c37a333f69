/** The other clients of the interop tests: the Python venv and the Java Avro jars that `make interop-venv interop-java` put under .cache/. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../infra/local/localStack.ts';

const run = promisify(execFile);

export const PYTHON = join(REPO_ROOT, '.cache', 'interop-venv', 'bin', 'python');
export const PYTHON_CLIENT = join(REPO_ROOT, 'test', 'interop', 'python', 'client.py');
const JAVA_JARS = join(REPO_ROOT, '.cache', 'interop-java');
const AVSC_CHECK = join(REPO_ROOT, 'test', 'interop', 'java', 'AvscCheck.java');

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function ran(file: string, args: string[], timeoutMs: number): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

/** Runs test/interop/python/client.py with the venv's Python. */
export function pythonClient(args: string[], timeoutMs = 120_000): Promise<Ran> {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: run \`make interop-venv\``);
  return ran(PYTHON, [PYTHON_CLIENT, ...args], timeoutMs);
}

/** Parses .avsc files with the Java Avro parser (org.apache.avro.Schema.Parser), one parser per file. */
export function javaAvscCheck(files: string[]): Promise<Ran> {
  if (!existsSync(join(JAVA_JARS, 'avro-1.12.1.jar'))) throw new Error(`${JAVA_JARS} is missing: run \`make interop-java\``);
  return ran('java', ['-cp', `${JAVA_JARS}/*`, AVSC_CHECK, ...files], 120_000);
}

const CHCHECK = join(REPO_ROOT, '.cache', 'interop-go', 'chcheck');

/** Runs a query with clickhouse-go over HTTP, the client Grafana's ClickHouse data source is built on; rows as JSON lines. */
export function goClickHouseQuery(hostPort: string, database: string, user: string, password: string, query: string, args: string[] = []): Promise<Ran> {
  if (!existsSync(CHCHECK)) throw new Error(`${CHCHECK} is missing: run \`make interop-go\``);
  return ran(CHCHECK, [hostPort, database, user, password, query, ...args], 120_000);
}
