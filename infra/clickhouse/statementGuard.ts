/**
 * What the SQL endpoint runs besides reads of the engine's own data, refused before it runs.
 * `readonly = 2` stops writes, DDL and SYSTEM commands, but the embedded engine also reads and
 * writes the service host's files and reaches the network on behalf of a query (`file()`,
 * `url()`, `s3()`, `remote()`, `executable()` and the like, `INTO OUTFILE`), runs several
 * statements sent as one, and lets any session KILL the service's own queries. So each
 * statement is parsed by the engine, without running it (`formatQuerySingleLine` on the text as
 * a bound parameter, then `EXPLAIN AST` of the one statement it returns), and refused when it
 * holds a table function that reads outside the engine, a function that reads the host's files,
 * INTO OUTFILE, or KILL. INSERT is refused as the write it is (READONLY), as the engine would.
 */
import type { ClickHouseClient } from './client.ts';

/** Table functions that read nothing outside the engine's own data (names compared in lower case). */
const LOCAL_TABLE_FUNCTIONS = new Set(['numbers', 'numbers_mt', 'zeros', 'zeros_mt', 'generateseries', 'generate_series', 'values', 'view', 'merge', 'null', 'generaterandom', 'format', 'loop']);

/** Functions that read the host's files. */
const HOST_FUNCTIONS = new Set(['file', 'catboostevaluate']);

/** Statements refused whatever their content: KILL reaches the service's own queries (all sessions are one user). */
const REFUSED_STATEMENTS = /^Kill/;

export class StatementRefused extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

async function text(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<string> {
  const result = await client.exec({ query, query_params: params, clickhouse_settings: { default_format: 'TabSeparatedRaw' as 'TabSeparated' } });
  let out = '';
  for await (const chunk of result.stream) out += chunk.toString();
  return out;
}

/** Refuses (throws StatementRefused) what the endpoint must not run; the engine's own errors (syntax...) pass through as they are. */
export async function checkStatement(client: ClickHouseClient, sql: string, params: Record<string, unknown>): Promise<void> {
  // An INSERT is a write, which readonly refuses anyway; with its data inline it does not parse as one statement here.
  if (/^\s*(?:--[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*INSERT\b/i.test(sql)) throw new StatementRefused(164, 'READONLY', 'Cannot execute query in readonly mode: this endpoint only reads');
  let formatted: string;
  try {
    formatted = (await text(client, 'SELECT formatQuerySingleLine({q:String})', { q: sql })).replace(/\n$/, '');
  } catch (err) {
    if (/Multi-statements are not allowed/.test((err as Error).message)) throw new StatementRefused(62, 'SYNTAX_ERROR', 'Multi-statements are not allowed: send one statement per request');
    throw err;
  }
  if (/\bINTO\s+OUTFILE\b/i.test(formatted)) throw new StatementRefused(497, 'ACCESS_DENIED', "INTO OUTFILE is not allowed here: it would write on the service's host");
  const ast = await text(client, `EXPLAIN AST ${formatted.replace(/\s+FORMAT\s+[A-Za-z][A-Za-z0-9_]*\s*$/i, '')}`, params);
  const lines = ast.split('\n').filter((l) => l.trim());
  if (REFUSED_STATEMENTS.test(lines[0] ?? '')) throw new StatementRefused(497, 'ACCESS_DENIED', 'KILL is not allowed here: every session of the endpoint shares the service\'s user');
  const stack: Array<{ indent: number; text: string }> = [];
  for (const line of lines) {
    const indent = line.length - line.trimStart().length;
    const node = line.trim();
    while (stack.length > 0 && (stack[stack.length - 1] as { indent: number }).indent >= indent) stack.pop();
    const fn = /^Function (\S+)/.exec(node)?.[1];
    if (fn) {
      const name = fn.toLowerCase();
      const parent = stack[stack.length - 1]?.text ?? '';
      if (parent.startsWith('TableExpression') && !LOCAL_TABLE_FUNCTIONS.has(name)) {
        throw new StatementRefused(497, 'ACCESS_DENIED', `table function ${fn} is not allowed here: it reads outside the engine's own data (allowed: ${[...LOCAL_TABLE_FUNCTIONS].join(', ')})`);
      }
      if (HOST_FUNCTIONS.has(name)) throw new StatementRefused(497, 'ACCESS_DENIED', `function ${fn} is not allowed here: it reads the service host's files`);
    }
    stack.push({ indent, text: node });
  }
}
