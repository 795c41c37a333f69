/**
 * Platform traffic in the order a platform publishes it: a job's dispatch when it starts and
 * its outcome when it finishes, so the topics hold events in event-time order, as in
 * production. (Publishing each outcome right after its dispatch would put outcomes days
 * ahead of the dispatches next to them, and stream time with them.)
 */
import type { GeneratedJob } from '../../simulate/generator.ts';
import type { JobDispatch, JobOutcome } from '../../schemas/generated/records.ts';

export type TimedEvent = { role: 'job-dispatch'; value: JobDispatch } | { role: 'job-outcome'; value: JobOutcome };

/** Outcomes not yet due, as a binary min-heap on event time. */
export class TimeOrderedJobs {
  private readonly heap: JobOutcome[] = [];

  /** The events due up to this job's dispatch (earlier outcomes first), then the dispatch; its outcome waits. */
  *add(job: GeneratedJob): Generator<TimedEvent> {
    yield* this.dueBy(job.dispatch.event_time);
    yield { role: 'job-dispatch', value: job.dispatch };
    this.push(job.outcome);
  }

  /** Outcomes due by `time`, in event-time order. */
  *dueBy(time: number): Generator<TimedEvent> {
    while (this.heap.length > 0 && (this.heap[0] as JobOutcome).event_time <= time) yield { role: 'job-outcome', value: this.pop() };
  }

  /** Every outcome still waiting, in event-time order. */
  *drain(): Generator<TimedEvent> {
    yield* this.dueBy(Number.POSITIVE_INFINITY);
  }

  get waiting(): number {
    return this.heap.length;
  }

  private push(o: JobOutcome): void {
    const h = this.heap;
    h.push(o);
    for (let i = h.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if ((h[parent] as JobOutcome).event_time <= o.event_time) break;
      h[i] = h[parent] as JobOutcome;
      h[parent] = o;
      i = parent;
    }
  }

  private pop(): JobOutcome {
    const h = this.heap;
    const top = h[0] as JobOutcome;
    const last = h.pop() as JobOutcome;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && (h[l] as JobOutcome).event_time < (h[m] as JobOutcome).event_time) m = l;
        if (r < h.length && (h[r] as JobOutcome).event_time < (h[m] as JobOutcome).event_time) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as JobOutcome, h[i] as JobOutcome];
        i = m;
      }
    }
    return top;
  }
}
