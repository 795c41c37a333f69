/**
 * Rows for a JSONEachRow insert, encoded a slice at a time with a turn of the event loop
 * between slices. Given an array, @clickhouse/client encodes all of it at once (50,000 rows
 * hold the loop for tens of milliseconds); given an object stream, it encodes one object at a
 * time as the connection reads. Here each object is a slice of rows already encoded
 * (`EncodedRows`), which the clients made by `createClickHouse` pass through as they are
 * (`ROW_JSON`): a few hundred objects rather than a stream step per row.
 */
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Rows per slice: well under a millisecond of encoding for this service's widest rows on a quiet core (500 gave a p99 loop delay of 35-40 ms on the loaded bench box). */
export const SLICE_ROWS = 100;

/** Rows already encoded as JSONEachRow lines (without the last newline, which the client adds). */
export class EncodedRows {
  constructor(readonly text: string) {}
}

/** The clients' JSON handling: encoded slices as they are, anything else by JSON.stringify. */
export const ROW_JSON = {
  parse: JSON.parse,
  stringify: (value: unknown): string => (value instanceof EncodedRows ? value.text : JSON.stringify(value)),
};

export function rowStream(rows: readonly unknown[], sliceRows = SLICE_ROWS): Readable {
  async function* slices(): AsyncGenerator<EncodedRows> {
    for (let at = 0; at < rows.length; at += sliceRows) {
      if (at > 0) await nextTurn();
      const end = Math.min(rows.length, at + sliceRows);
      let text = JSON.stringify(rows[at]);
      for (let i = at + 1; i < end; i++) text += '\n' + JSON.stringify(rows[i]);
      yield new EncodedRows(text);
    }
  }
  return Readable.from(slices(), { objectMode: true });
}
