/** `sql`: a query on the configured ClickHouse, values as bound parameters. */
import type { Command } from 'commander';
import { createClickHouse, queryRows } from '../../infra/clickhouse/client.ts';
import { formatTable } from '../table.ts';
import { configOf } from '../common.ts';

export function sqlCommand(program: Command): void {
  program
    .command('sql')
    .description('run a query on the configured ClickHouse; {name:Type} placeholders take --param name=value')
    .argument('<query>', 'the SQL')
    .option('-p, --param <name=value...>', 'bound parameters')
    .option('--json', 'print JSON rows instead of a table')
    .action(async (query: string, opts: { param?: string[]; json?: boolean }) => {
      const config = configOf(program);
      const client = createClickHouse(config.clickhouse);
      const params = Object.fromEntries((opts.param ?? []).map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
      try {
        const rows = await queryRows<Record<string, unknown>>(client, query, params);
        console.log(opts.json ? JSON.stringify(rows, null, 2) : formatTable(rows));
      } finally {
        await client.close();
      }
    });
}
