/**
 * Bounds on what a few corrupt bytes can make the Avro decoder do. avsc reads an array or
 * map block count and then loops that many times; a record of ten bytes that claims 2^50
 * items (a negative count is legal Avro: a block with its byte size) would keep the event
 * loop busy for hours and fill the heap before "truncated buffer" is noticed. Every item
 * of our schemas takes at least one byte, so a block that claims more items than bytes are
 * left cannot be valid: it fails at once, and the record goes to the DLQ as UNDECODABLE.
 *
 * avsc's resolvers copy `_read` from the reader type's prototype, so patching the two
 * prototypes once, before any type is built, covers plain reads and schema resolution.
 * Importing this module applies the guard (idempotent).
 */
import avro from 'avsc';

interface Tap {
  buf: Buffer;
  pos: number;
  readLong(): number;
  skipLong(): void;
  readString(): string;
}

interface ReadableType {
  typeName: string;
  _read(tap: Tap): unknown;
}

const GUARDED = Symbol.for('artenic.avroGuards');

/** Whether items of this type may take zero bytes (null, an empty record, ...): no byte bound then. */
function mayBeEmpty(type: ReadableType): boolean {
  if (type.typeName === 'null') return true;
  const fields = (type as unknown as { fields?: Array<{ type: ReadableType }> }).fields;
  return type.typeName === 'record' && Array.isArray(fields) && fields.every((f) => mayBeEmpty(f.type));
}

function blockCount(tap: Tap, itemsMayBeEmpty: boolean): number {
  let n = tap.readLong();
  if (n < 0) {
    n = -n;
    tap.skipLong();
  }
  const left = tap.buf.length - tap.pos;
  if (n > 0 && !itemsMayBeEmpty && n > left) throw new Error(`block claims ${n} items with ${Math.max(left, 0)} bytes left`);
  return n;
}

const types = (avro as unknown as { types: Record<string, { prototype: Record<string | symbol, unknown> }> }).types;
const arrayProto = types.ArrayType?.prototype;
const mapProto = types.MapType?.prototype;

if (arrayProto && mapProto && !arrayProto[GUARDED]) {
  arrayProto[GUARDED] = true;
  arrayProto._read = function (this: { itemsType: ReadableType }, tap: Tap): unknown[] {
    const items = this.itemsType;
    const empty = mayBeEmpty(items);
    const out: unknown[] = [];
    let n: number;
    while ((n = blockCount(tap, empty))) {
      while (n--) out.push(items._read(tap));
    }
    return out;
  };
  mapProto._read = function (this: { valuesType: ReadableType }, tap: Tap): Record<string, unknown> {
    const values = this.valuesType;
    const out: Record<string, unknown> = {};
    let n: number;
    // A map entry always has a key (a string, at least its length byte).
    while ((n = blockCount(tap, false))) {
      while (n--) {
        const key = tap.readString();
        out[key] = values._read(tap);
      }
    }
    return out;
  };
}

/** True once the guard is in place (for tests). */
export function avroGuardsApplied(): boolean {
  return Boolean(arrayProto?.[GUARDED]);
}
