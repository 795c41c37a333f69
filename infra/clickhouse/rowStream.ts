/**
 * Rows as a JSONEachRow byte stream, encoded a slice at a time with a turn of the event loop
 * between slices: 50,000 rows encoded at once (what @clickhouse/client does with an array) hold
 * the loop for tens of milliseconds. The client passes a byte stream through unchanged.
 */
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Rows per slice: about a millisecond of encoding for this service's widest rows. */
export const SLICE_ROWS = 500;

export function jsonEachRow(rows: readonly unknown[], sliceRows = SLICE_ROWS): Readable {
  async function* slices(): AsyncGenerator<string> {
    for (let at = 0; at < rows.length; at += sliceRows) {
      if (at > 0) await nextTurn();
      let text = '';
      const end = Math.min(rows.length, at + sliceRows);
      for (let i = at; i < end; i++) text += JSON.stringify(rows[i]) + '\n';
      yield text;
    }
  }
  return Readable.from(slices(), { objectMode: false });
}
