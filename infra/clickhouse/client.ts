/**
 * One way to reach ClickHouse for the whole service: @clickhouse/client, either against a
 * server by URL or against the engine embedded in this process through chdb. Same client,
 * same SQL. Statements take values only through bound parameters (`{name:Type}`).
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { Config } from '../../config/options.ts';

export type { ClickHouseClient };

export function createClickHouse(config: Config['clickhouse']): ClickHouseClient {
  if (config.url) {
    return createClient({
      url: config.url,
      username: config.username,
      password: config.password ?? '',
      request_timeout: 30_000,
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
  }
  const path = resolve(config.dataDir);
  mkdirSync(path, { recursive: true });
  return createClient({ connection: createChdbConnection({ path }) } as Parameters<typeof createClient>[0]);
}

/** `db.table`, for the insert API which takes a table name rather than SQL. The database is validated as an identifier by the config schema. */
export function qualified(database: string, table: string): string {
  return `${database}.${table}`;
}

export async function queryRows<T>(client: ClickHouseClient, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return (await result.json()) as T[];
}
