/**
 * `schemas export <dir>` writes one self-contained .avsc per subject, exactly what the service
 * registers: fastavro and the Java Avro parser (org.apache.avro 1.12) each parse every file on
 * its own, where the repository's source .avsc files, which reference shared named types, fail.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/local/localStack.ts';
import { SCHEMA_DIR, TOPIC_ROLES } from '../../schemas/catalog.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { javaAvscCheck, pythonClient } from '../helpers/interop.ts';
import { envOf, testConfig } from '../helpers/testConfig.ts';

const run = promisify(execFile);

describe('exported schemas', () => {
  const config = testConfig();
  const dir = mkdtempSync(join(tmpdir(), 'artenic-avsc-'));

  it('are one per subject, equal to what the registry holds', async () => {
    const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'bin', 'artenic-optimizer.mjs'), 'schemas', 'export', dir, '--json'], { cwd: REPO_ROOT, env: { ...process.env, ...envOf(config) } });
    const written = JSON.parse(stdout) as Array<{ subject: string; file: string }>;
    expect(written.map((w) => w.subject).sort()).toEqual(TOPIC_ROLES.map((r) => `${config.topics[r]}-value`).sort());
    expect(readdirSync(dir).sort()).toEqual(written.map((w) => `${w.subject}.avsc`).sort());
    const serde = new TopicSerde(createRegistry({ url: config.registry.url as string, username: null, password: null }), config.topics);
    await serde.registerAll();
    for (const w of written) {
      const latest = (await (await fetch(`${config.registry.url}/subjects/${w.subject}/versions/latest`)).json()) as { schema: string };
      // The registry writes a nested type's namespace only where it differs from its parent's: compare as Avro types.
      const normal = (schema: unknown) => avro.Type.forSchema(schema as avro.Schema).schema({ exportAttrs: true });
      expect(normal(JSON.parse(latest.schema)), w.subject).toEqual(normal(JSON.parse(readFileSync(w.file, 'utf8'))));
    }
  });

  it('parse in fastavro, each file on its own; the source files with shared types do not', async () => {
    const files = readdirSync(dir).map((f) => join(dir, f));
    const exported = await pythonClient(['check-schemas', ...files]);
    expect(exported.code, exported.stdout + exported.stderr).toBe(0);
    expect(exported.stdout.trim().split('\n')).toHaveLength(TOPIC_ROLES.length);
    const source = await pythonClient(['check-schemas', join(SCHEMA_DIR, 'job-dispatch.avsc'), join(SCHEMA_DIR, 'job-outcome.avsc')]);
    expect(source.code).toBe(1);
    expect(source.stdout).toMatch(/FAIL .*job-dispatch\.avsc UnknownType/);
  });

  it('parse in the Java Avro parser, each file on its own; the source files with shared types do not', async () => {
    const files = readdirSync(dir).map((f) => join(dir, f));
    const exported = await javaAvscCheck(files);
    expect(exported.code, exported.stdout + exported.stderr).toBe(0);
    expect(exported.stdout.trim().split('\n').filter((l) => l.startsWith('ok '))).toHaveLength(TOPIC_ROLES.length);
    const source = await javaAvscCheck([join(SCHEMA_DIR, 'job-dispatch.avsc')]);
    expect(source.code).toBe(1);
    // A reference to a shared type the file does not define: artenic.MetricGoal, artenic.WorkloadProfile...
    expect(source.stdout).toMatch(/FAIL .*job-dispatch\.avsc .*(artenic\.[A-Z]\w+|Undefined name)/);
  });
});
