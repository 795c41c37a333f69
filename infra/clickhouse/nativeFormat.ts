/**
 * ClickHouse's Native format for a given client protocol version. The embedded engine writes
 * Native as for protocol 0 (what a server sends an HTTP client that names no version), while
 * clients that name one (`client_protocol_version`, as clickhouse-go does, and so Grafana's
 * ClickHouse data source over HTTP) read each block with the block info first and, from
 * protocol 54454, a custom-serialization flag after each column's type. `toProtocol` rewrites
 * protocol-0 Native into that shape: it walks each column's data to find where it ends, for
 * the column types it knows (numbers, dates and times, decimals, UUID, IPs, enums, strings,
 * and Nullable, Array, Tuple, Map and LowCardinality of those); any other type is refused with
 * a NativeFormatError rather than sent malformed.
 */

/** The first protocol revision whose Native blocks carry a custom-serialization flag per column. */
const MIN_REVISION_WITH_CUSTOM_SERIALIZATION = 54454;

export class NativeFormatError extends Error {}

interface TypeNode {
  name: string;
  args: TypeNode[];
  /** The raw text of the arguments, for those that are not types (FixedString(16), DateTime64(3, 'UTC')). */
  raw: string;
}

/** `Nullable(Array(String))` into a tree; named tuple elements (`Tuple(a String)`) keep their types. */
export function parseType(text: string): TypeNode {
  let i = 0;
  const parse = (): TypeNode => {
    while (text[i] === ' ') i++;
    let name = '';
    while (i < text.length && /[A-Za-z0-9_]/.test(text[i] as string)) name += text[i++];
    // A named tuple element: `name Type`.
    if (text[i] === ' ' && /[A-Za-z]/.test(text[i + 1] ?? '')) {
      const save = i;
      i++;
      const inner = parse();
      if (inner.name) return inner;
      i = save;
    }
    if (text[i] !== '(') return { name, args: [], raw: '' };
    const start = ++i;
    const args: TypeNode[] = [];
    let depth = 0;
    let quoted = false;
    let argStart = i;
    for (; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '\\') i++;
        else if (c === "'") quoted = false;
        continue;
      }
      if (c === "'") quoted = true;
      else if (c === '(') depth++;
      else if (c === ')' && depth > 0) depth--;
      else if ((c === ',' || c === ')') && depth === 0) {
        const piece = text.slice(argStart, i).trim();
        if (/^[A-Za-z]/.test(piece)) args.push(parseType(piece));
        argStart = i + 1;
        if (c === ')') break;
      }
    }
    const raw = text.slice(start, i);
    i++;
    return { name, args, raw };
  };
  return parse();
}

const FIXED: Record<string, number> = {
  Nothing: 1,
  UInt8: 1, Int8: 1, Bool: 1, Enum8: 1,
  UInt16: 2, Int16: 2, Date: 2, Enum16: 2, BFloat16: 2,
  UInt32: 4, Int32: 4, Float32: 4, Date32: 4, DateTime: 4, IPv4: 4, Decimal32: 4, Time: 4,
  UInt64: 8, Int64: 8, Float64: 8, DateTime64: 8, Decimal64: 8, Time64: 8,
  UInt128: 16, Int128: 16, UUID: 16, IPv6: 16, Decimal128: 16,
  UInt256: 32, Int256: 32, Decimal256: 32,
};

class Reader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
  ) {}
  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new NativeFormatError('Native data ends inside a column');
  }
  varUInt(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      this.need(1);
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
    }
  }
  string(): string {
    const n = this.varUInt();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  uint64(): number {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new NativeFormatError('a size in the Native data is too large');
    return Number(v);
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

function decimalSize(t: TypeNode): number {
  const precision = Number(t.raw.split(',')[0]);
  return precision <= 9 ? 4 : precision <= 18 ? 8 : precision <= 38 ? 16 : 32;
}

/** Moves the reader past `rows` values of type `t` in Native's column layout. */
function skipColumn(r: Reader, t: TypeNode, rows: number): void {
  if (rows === 0) return;
  if (t.name === 'Decimal') return r.skip(decimalSize(t) * rows);
  if (t.name === 'FixedString') return r.skip(Number(t.raw) * rows);
  const fixed = FIXED[t.name];
  if (fixed !== undefined) return r.skip(fixed * rows);
  switch (t.name) {
    case 'String':
      for (let i = 0; i < rows; i++) r.skip(r.varUInt());
      return;
    case 'Nullable':
      r.skip(rows);
      return skipColumn(r, t.args[0] as TypeNode, rows);
    case 'Array': {
      r.skip(8 * (rows - 1));
      const total = r.uint64();
      return skipColumn(r, t.args[0] as TypeNode, total);
    }
    case 'Map': {
      r.skip(8 * (rows - 1));
      const total = r.uint64();
      skipColumn(r, t.args[0] as TypeNode, total);
      return skipColumn(r, t.args[1] as TypeNode, total);
    }
    case 'Tuple':
      for (const element of t.args) skipColumn(r, element, rows);
      return;
    case 'LowCardinality': {
      // Prefix: the keys serialization version; then index flags, the block's own keys (of the
      // inner type without Nullable), and one index per row of the width the flags say.
      r.uint64();
      const flags = r.uint64();
      if (flags & 0x100) throw new NativeFormatError('LowCardinality with a global dictionary is not supported');
      const inner = t.args[0] as TypeNode;
      if (flags & 0x200) {
        const keys = r.uint64();
        skipColumn(r, inner.name === 'Nullable' ? (inner.args[0] as TypeNode) : inner, keys);
      }
      const indexes = r.uint64();
      return r.skip(indexes * [1, 2, 4, 8][flags & 0xff]!);
    }
    default:
      throw new NativeFormatError(`type ${t.name} cannot be sent in Native format for this client protocol version; choose another FORMAT`);
  }
}

/** Native as written for protocol 0, rewritten for the client protocol revision `revision` (> 0). */
export function toProtocol(native: Buffer, revision: number): Buffer {
  if (revision <= 0) return native;
  const r = new Reader(native);
  const out: Buffer[] = [];
  const types = new Map<string, TypeNode>();
  // BlockInfo: field 1 is_overflows (UInt8) = 0, field 2 bucket_num (Int32) = -1, field 0 ends it.
  const blockInfo = Buffer.from([1, 0, 2, 0xff, 0xff, 0xff, 0xff, 0]);
  while (r.pos < native.length) {
    const blockStart = r.pos;
    const columns = r.varUInt();
    const rows = r.varUInt();
    out.push(blockInfo, native.subarray(blockStart, r.pos));
    for (let c = 0; c < columns; c++) {
      const headerStart = r.pos;
      r.string();
      const typeName = r.string();
      out.push(native.subarray(headerStart, r.pos));
      if (revision >= MIN_REVISION_WITH_CUSTOM_SERIALIZATION) out.push(Buffer.from([0]));
      let type = types.get(typeName);
      if (!type) types.set(typeName, (type = parseType(typeName)));
      const dataStart = r.pos;
      skipColumn(r, type, rows);
      out.push(native.subarray(dataStart, r.pos));
    }
  }
  return Buffer.concat(out);
}
