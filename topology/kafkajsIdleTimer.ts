/**
 * A fix for kafkajs 2.2.4's request queue (tulios/kafkajs#1704, #1751; upstream unreleased).
 *
 * After every response, `RequestQueue.checkPendingRequests` calls `scheduleCheckPendingRequests`,
 * which arms `setTimeout(check, throttledUntil - Date.now())` even when no request is pending.
 * With no broker throttle `throttledUntil` is -1, so the delay is about minus Date.now(): Node
 * clamps it to 1 ms (Node >= 23 prints `TimeoutNegativeWarning: -17962… is a negative number`
 * once a process), and the timer's callback checks the empty queue and arms the same timer
 * again: every broker connection spins a 1 ms timer for as long as it is open. No option of
 * ours reaches this code: any client that gets one response does it.
 *
 * The fix: with nothing pending, no timer (by intent, not "no wait"): nothing waits on it. A
 * request that cannot go at once (throttled, or too many in flight) is pushed to `pending` and
 * `push` schedules the check itself, through the original method, which is kept for that case.
 */
import { createRequire } from 'node:module';

interface RequestQueueLike {
  pending: unknown[];
  throttleCheckTimeoutId: unknown;
  scheduleCheckPendingRequests(): void;
}

type RequestQueueClass = { prototype: RequestQueueLike };

const PATCHED = Symbol.for('artenic.kafkajs.noIdleTimer');

/** kafkajs' RequestQueue class (CommonJS, not part of its typed API). */
export function requestQueueClass(): RequestQueueClass {
  return createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as RequestQueueClass;
}

/**
 * Makes `scheduleCheckPendingRequests` arm no timer while nothing is pending. Idempotent;
 * returns whether the method is patched. A kafkajs whose method no longer computes the delay
 * the old way (fixed upstream, or changed) is left as it is.
 */
export function stopIdleRequestQueueTimers(queueClass: RequestQueueClass = requestQueueClass()): boolean {
  const proto = queueClass.prototype as RequestQueueLike & { [PATCHED]?: true };
  if (proto[PATCHED]) return true;
  const original = proto.scheduleCheckPendingRequests;
  if (typeof original !== 'function' || !/this\.throttledUntil\s*-\s*Date\.now\(\)/.test(original.toString())) return false;
  proto.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueLike): void {
    if (this.pending.length === 0) return; // nothing to check: no timer
    original.call(this);
  };
  proto[PATCHED] = true;
  return true;
}
