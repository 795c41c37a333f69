/** Dead letters by error code, from ClickHouse: how many, from which topics, when last, and one reason as an example. */
import { queryRows, type ClickHouseClient } from '../infra/clickhouse/client.ts';

export interface DeadLetterCode {
  code: string;
  records: number;
  topics: string[];
  last: string;
  example: string;
}

export async function deadLettersByCode(client: ClickHouseClient, db: string): Promise<DeadLetterCode[]> {
  const rows = await queryRows<{ code: string; records: string; topics: string[]; last: string; example: string }>(
    client,
    `SELECT error_code AS code, count() AS records, arraySort(groupUniqArray(source_topic)) AS topics, toString(max(event_time)) AS last, argMax(reason, event_time) AS example
     FROM ${db}.dead_letters FINAL GROUP BY code ORDER BY records DESC, code`,
  );
  return rows.map((r) => ({ ...r, records: Number(r.records) }));
}
