/**
 * `sql`: a query on ClickHouse, values as bound parameters. Read-only unless `--write` (the
 * engine enforces it); through the running service's SQL endpoint when one answers.
 */
import type { Command } from 'commander';
import { UsageError } from '../../common/errors.ts';
import { formatTable } from '../table.ts';
import { configOf, openClickHouse } from '../common.ts';

/** `-p name=value` pairs into bound parameters; anything else is a usage error. */
export function parseParams(pairs: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    const name = eq < 0 ? '' : p.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`--param ${p}: expected name=value, with name a {name:Type} placeholder of the query`);
    params[name] = p.slice(eq + 1);
  }
  return params;
}

/** The FORMAT clause that ends a query, if any: its output is then printed as the engine wrote it. */
export function formatOf(query: string): string | null {
  return /\bFORMAT\s+([A-Za-z][A-Za-z0-9_]*)\s*;?\s*$/i.exec(query)?.[1] ?? null;
}

export function sqlCommand(program: Command): void {
  program
    .command('sql')
    .description('run a query on ClickHouse (read-only unless --write); {name:Type} placeholders take -p name=value')
    .argument('<query>', 'the SQL; with a FORMAT clause its output is printed as is')
    .option('-p, --param <name=value...>', 'bound parameters')
    .option('--write', 'allow writes and DDL (needs the engine: not while a service holds it)')
    .option('--json', 'print JSON rows instead of a table')
    .action(async (query: string, opts: { param?: string[]; write?: boolean; json?: boolean }) => {
      const params = parseParams(opts.param ?? []);
      const format = formatOf(query);
      if (format && opts.json) throw new UsageError(`--json and FORMAT ${format} in the query: use one or the other`);
      const { client } = await openClickHouse(configOf(program), { write: opts.write });
      try {
        const result = await client.exec({ query, query_params: params, clickhouse_settings: { default_format: 'JSONEachRow' } });
        let text = '';
        for await (const chunk of result.stream) text += chunk.toString();
        if (format) return void process.stdout.write(text);
        const rows = text
          .split('\n')
          .filter((line) => line.trim())
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        console.log(opts.json ? JSON.stringify(rows, null, 2) : formatTable(rows));
      } finally {
        await client.close();
      }
    });
}
