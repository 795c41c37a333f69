/**
 * Native rewritten for a client protocol version: every block gains its block info and every
 * column a custom-serialization flag after its type, nothing else changes, for each column type
 * the walker knows (on the engine's own Native output, several blocks long: a walker that lost
 * its place would throw or miscount); a type it does not know is refused, never sent malformed.
 * clickhouse-go reading it is the SQL endpoint's integration test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../../infra/clickhouse/client.ts';
import { NativeFormatError, parseType, toProtocol } from '../../../infra/clickhouse/nativeFormat.ts';

const dir = mkdtempSync(join(tmpdir(), 'native-'));
const client = createClickHouse({ url: null, username: 'default', password: null, database: 'default', dataDir: dir });
afterAll(async () => {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

async function native(query: string): Promise<Buffer> {
  const result = await client.exec({ query, clickhouse_settings: { default_format: 'Native' as never } });
  const chunks: Buffer[] = [];
  for await (const c of result.stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

const QUERY = `SELECT number AS n, toInt32(number) - 3 AS i, number / 3 AS f, toString(number) AS s, toFixedString(toString(number % 10), 2) AS fs,
  if(number % 2 = 0, NULL, number) AS nullable, toLowCardinality(concat('k', toString(number % 3))) AS lc,
  toLowCardinality(if(number % 4 = 0, NULL, toString(number))) AS lcn, range(number % 4) AS arr, [toString(number), 'x'] AS sarr,
  (number, toString(number)) AS tup, map('a', number) AS m, toDateTime64(number, 3, 'UTC') AS dt, toDate(number) AS d,
  toDecimal64(number, 4) AS dec, generateUUIDv4() AS u, toIPv4(number) AS ip, number % 2 = 0 AS b, CAST('a', 'Enum8(\\'a\\' = 1)') AS e, NULL AS nothing
  FROM numbers(7) SETTINGS max_block_size = 3`;

/** The first block of protocol-revision Native: its block info, then the first column's name, type and flag. */
function firstColumn(buf: Buffer): { info: number[]; columns: number; rows: number; header: string; flag: number } {
  let pos = 8;
  const varUInt = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = buf[pos++] as number;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  const str = () => {
    const n = varUInt();
    const s = buf.toString('utf8', pos, pos + n);
    pos += n;
    return s;
  };
  const columns = varUInt();
  const rows = varUInt();
  const header = `${str()} ${str()}`;
  return { info: [...buf.subarray(0, 8)], columns, rows, header, flag: buf[pos] as number };
}

describe('Native for a client protocol version', () => {
  it('adds block info and a flag per column, and nothing else, over every type it knows', async () => {
    const plain = await native(QUERY);
    const rewritten = toProtocol(plain, 54460);
    // 3 blocks (7 rows, 3 per block) of 20 columns: 8 bytes of block info each, one flag per column.
    expect(rewritten.length).toBe(plain.length + 3 * 8 + 3 * 20);
    expect(firstColumn(rewritten)).toEqual({ info: [1, 0, 2, 0xff, 0xff, 0xff, 0xff, 0], columns: 20, rows: 3, header: 'n UInt64', flag: 0 });
    // Before 54454: block info only.
    expect(toProtocol(plain, 54453).length).toBe(plain.length + 3 * 8);
    expect(toProtocol(plain, 0)).toBe(plain);
  });

  it('refuses a type it cannot walk instead of sending it malformed', async () => {
    const plain = await native(`SELECT CAST(toUInt64(1), 'Variant(String, UInt64)') AS v SETTINGS allow_experimental_variant_type = 1`);
    expect(() => toProtocol(plain, 54460)).toThrow(NativeFormatError);
  });

  it('parses nested and parameterised type names', () => {
    const t = parseType("Map(LowCardinality(String), Array(Nullable(DateTime64(3, 'UTC'))))");
    expect(t.name).toBe('Map');
    expect(t.args.map((a) => a.name)).toEqual(['LowCardinality', 'Array']);
    expect(t.args[1]!.args[0]!.args[0]!.raw).toBe("3, 'UTC'");
    expect(parseType('Tuple(a UInt8, b String)').args.map((a) => a.name)).toEqual(['UInt8', 'String']);
    expect(parseType('FixedString(16)').raw).toBe('16');
  });
});
