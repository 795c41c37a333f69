import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stopIdleRequestQueueTimers } from '../../../topology/kafkajsIdleTimer.ts';

interface Queue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: unknown;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
  destroy(): void;
}
type QueueClass = { prototype: Queue; new (options: object): Queue };

/** A fresh, unpatched copy of kafkajs' RequestQueue class: each test patches its own. */
function freshQueueClass(): QueueClass {
  const require = createRequire(import.meta.url);
  const path = require.resolve('kafkajs/src/network/requestQueue/index.js');
  delete require.cache[path];
  return require(path) as QueueClass;
}

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const queueOf = (cls: QueueClass): Queue =>
  new cls({ maxInFlightRequests: null, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'test', broker: 'b:9092', logger: silent });

/** The delays of the timers `run` arms; each stands armed as a timer that does nothing (no real 1 ms loop, no warning). */
function timerDelays(run: () => void): Array<number | undefined> {
  const realSetTimeout = globalThis.setTimeout;
  const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation((() => realSetTimeout(() => undefined, 60_000)) as unknown as typeof setTimeout);
  try {
    run();
    return spy.mock.calls.map((call) => call[1]);
  } finally {
    spy.mockRestore();
  }
}

describe('kafkajs request queue: no timer while nothing is pending', () => {
  const queues: Queue[] = [];
  afterEach(() => {
    for (const q of queues.splice(0)) q.destroy();
  });

  it('as shipped, a response on an idle connection arms a timer with a delay of about minus Date.now() (the TimeoutNegativeWarning)', () => {
    const q = queueOf(freshQueueClass());
    queues.push(q);
    const delays = timerDelays(() => q.checkPendingRequests()); // what fulfillRequest does after each response
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeLessThan(-Date.now() + 1_000);
  });

  it('patched, an idle connection arms no timer', () => {
    const cls = freshQueueClass();
    expect(stopIdleRequestQueueTimers(cls)).toBe(true);
    expect(stopIdleRequestQueueTimers(cls)).toBe(true); // idempotent
    const q = queueOf(cls);
    queues.push(q);
    expect(timerDelays(() => q.checkPendingRequests())).toEqual([]);
    expect(q.throttleCheckTimeoutId).toBeNull();
  });

  it('patched, a request held back by a broker throttle is still checked when the throttle ends', () => {
    const cls = freshQueueClass();
    stopIdleRequestQueueTimers(cls);
    const q = queueOf(cls);
    queues.push(q);
    q.throttledUntil = Date.now() + 500;
    q.pending.push({ correlationId: 1 });
    const delays = timerDelays(() => q.checkPendingRequests());
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThan(400);
    expect(delays[0]).toBeLessThanOrEqual(500);
    expect(q.throttleCheckTimeoutId).not.toBeNull();
  });

  it('patched, a request held back with the throttle already over is checked again after kafkajs\' 10 ms interval', () => {
    const cls = freshQueueClass();
    stopIdleRequestQueueTimers(cls);
    const q = queueOf(cls);
    queues.push(q);
    q.pending.push({ correlationId: 1 });
    // checkPendingRequests would send it; schedule directly, as push() does when in-flight limits hold it back
    const delays = timerDelays(() => q.scheduleCheckPendingRequests());
    expect(delays).toEqual([10]);
  });

  it('leaves a request queue alone whose delay is no longer computed the old way (fixed upstream)', () => {
    const fixed = { prototype: { pending: [], throttleCheckTimeoutId: null, scheduleCheckPendingRequests() { /* fixed */ } } };
    const before = fixed.prototype.scheduleCheckPendingRequests;
    expect(stopIdleRequestQueueTimers(fixed)).toBe(false);
    expect(fixed.prototype.scheduleCheckPendingRequests).toBe(before);
  });
});
