/**
 * Versioned migrations: `migrations/NNN_name.sql`, applied in order, each once, recorded
 * in `schema_migrations`. The database name is an identifier validated by the config
 * schema and substituted for `{db:Identifier}`; values in SQL are always bound parameters.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { queryRows, type ClickHouseClient } from './client.ts';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_.+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8')
        .split('\n')
        .filter((line) => !line.trim().startsWith('--'))
        .join('\n');
      return {
        version: Number(file.slice(0, 3)),
        name: file.replace(/\.sql$/, ''),
        statements: text.split(/;\s*(?:\n|$)/).map((s) => s.trim()).filter(Boolean),
      };
    });
}

function identifier(database: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new Error(`not an identifier: ${database}`);
  return `\`${database}\``;
}

/** Applies what is missing; returns the names applied now. */
export async function migrate(client: ClickHouseClient, database: string): Promise<string[]> {
  const db = identifier(database);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = MergeTree ORDER BY version`,
  });
  const applied = new Set((await queryRows<{ version: number }>(client, `SELECT version FROM ${db}.schema_migrations`)).map((r) => Number(r.version)));
  const done: string[] = [];
  for (const m of loadMigrations()) {
    if (applied.has(m.version)) continue;
    for (const statement of m.statements) {
      await client.command({ query: statement.replaceAll('{db:Identifier}', db) });
    }
    await client.insert({ table: `${database}.schema_migrations`, values: [{ version: m.version, name: m.name }], format: 'JSONEachRow' });
    done.push(m.name);
  }
  return done;
}
