package artenic.bench.kstreams;

import java.util.concurrent.atomic.LongAdder;

/** What the harness asks for over stdin (`stats`): counted where it happens. */
final class Counters {
  final LongAdder labels = new LongAdder();
  final LongAdder duplicates = new LongAdder();
  final LongAdder deadLetters = new LongAdder();
  /** Transactions committed by the stream thread's producer. */
  final LongAdder transactions = new LongAdder();
  /** Nanoseconds inside sendOffsetsToTransaction + commitTransaction (the commit's blocking part). */
  final LongAdder commitNanos = new LongAdder();
  final LongAdder aborts = new LongAdder();
}
