/**
 * Rows as an object-mode stream for a JSONEachRow insert, with a turn of the event loop every
 * `sliceRows` rows: given an array, @clickhouse/client encodes all of it at once (50,000 rows
 * hold the loop for tens of milliseconds); given a stream, it encodes row by row as the
 * connection reads, so the loop is held for one slice at a time.
 */
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Rows between two turns of the loop: about a millisecond of encoding for this service's widest rows. */
export const SLICE_ROWS = 500;

export function rowStream(rows: readonly unknown[], sliceRows = SLICE_ROWS): Readable {
  async function* slices(): AsyncGenerator<unknown> {
    for (let i = 0; i < rows.length; i++) {
      if (i > 0 && i % sliceRows === 0) await nextTurn();
      yield rows[i];
    }
  }
  return Readable.from(slices(), { objectMode: true });
}
