/**
 * docker-compose.yml is valid for Compose (`docker compose config`, or the standalone
 * `docker-compose` where the plugin is missing; `make test` installs it), publishes only on
 * loopback, and the Grafana provisioning it mounts is consistent.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadMigrations } from '../../infra/clickhouse/migrate.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/local/localStack.ts';

function validator(): string[] {
  if (spawnSync('docker', ['compose', 'version']).status === 0) return ['docker', 'compose'];
  return ['docker-compose'];
}

function validate(file: string): { status: number | null; stderr: string } {
  const [cmd, ...pre] = validator();
  const r = spawnSync(cmd as string, [...pre, '-f', file, 'config', '-q'], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe('docker-compose.yml', () => {
  const compose = join(REPO_ROOT, 'docker-compose.yml');

  it('validates, and a broken copy does not', () => {
    const ok = validate(compose);
    expect(ok.status, ok.stderr).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'compose-'));
    const broken = join(dir, 'docker-compose.yml');
    writeFileSync(broken, readFileSync(compose, 'utf8').replace('  kafka:\n    image: apache/kafka:4.1.1', '  kafka:\n    image: [not, a, string]'));
    expect(validate(broken).status).not.toBe(0);
  });

  it('has Kafka, a registry, ClickHouse, the service and Grafana, published on loopback only', () => {
    const [cmd, ...pre] = validator();
    const resolved = execFileSync(cmd as string, [...pre, '-f', compose, 'config'], { cwd: REPO_ROOT, encoding: 'utf8' });
    for (const service of ['kafka', 'registry', 'clickhouse', 'optimizer', 'grafana']) expect(resolved).toMatch(new RegExp(`^  ${service}:`, 'm'));
    const ports = [...readFileSync(compose, 'utf8').matchAll(/"(\d+\.\d+\.\d+\.\d+):\d+:\d+"/g)].map((m) => m[1]);
    expect(ports.length).toBe(5);
    expect(new Set(ports)).toEqual(new Set(['127.0.0.1']));
  });

  it('provisions Grafana with the ClickHouse data source its dashboard uses, over existing views', () => {
    const datasource = readFileSync(join(REPO_ROOT, 'infra/grafana/provisioning/datasources/clickhouse.yml'), 'utf8');
    const uid = datasource.match(/uid: (\S+)/)?.[1];
    const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'infra/grafana/dashboards/artenic.json'), 'utf8')) as {
      panels: Array<{ datasource: { uid: string }; targets: Array<{ rawSql: string }> }>;
    };
    expect(dashboard.panels.length).toBeGreaterThan(3);
    const migrations = loadMigrations()
      .flatMap((m) => m.statements)
      .join('\n');
    for (const p of dashboard.panels) {
      expect(p.datasource.uid).toBe(uid);
      for (const table of p.targets.flatMap((t) => [...t.rawSql.matchAll(/artenic\.(\w+)/g)].map((m) => m[1]))) {
        expect(migrations, table).toMatch(new RegExp(`\\{db:Identifier\\}\\.${table}\\b`));
      }
    }
  });
});
