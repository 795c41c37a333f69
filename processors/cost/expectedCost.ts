/**
 * Expected cost of a spot run with retries. Preemptions arrive as a Poisson process of
 * rate lambda per hour of running. A job needs `hours` of uninterrupted work; it saves a
 * checkpoint every `checkpointHours` (a job that does not checkpoint has one segment, the
 * whole job). A preemption loses the work since the last checkpoint and costs `restartHours`
 * of paid downtime before it resumes. By memorylessness each segment of length x takes in
 * expectation g(x) = (e^{lambda x} - 1) (1/lambda + r) hours, so the whole job takes
 * floor(T/c) g(c) + g(T mod c). With lambda -> 0, g(x) -> x.
 */

export function segmentHours(x: number, lambda: number, restartHours: number): number {
  if (x <= 0) return 0;
  if (lambda <= 0) return x;
  return Math.expm1(lambda * x) * (1 / lambda + restartHours);
}

export function expectedRunHours(hours: number, lambda: number, restartHours: number, checkpointHours: number | null): number {
  const c = checkpointHours === null || checkpointHours <= 0 || checkpointHours >= hours ? hours : checkpointHours;
  const full = Math.floor(hours / c);
  return full * segmentHours(c, lambda, restartHours) + segmentHours(hours - full * c, lambda, restartHours);
}

/** The hourly preemption rate that gives probability `p` of at least one preemption in `hours`. */
export function lambdaFromRunProbability(p: number, hours: number): number {
  if (p <= 0 || hours <= 0) return 0;
  return -Math.log(1 - Math.min(p, 0.999999)) / hours;
}

/** Expected spot cost with retries divided by the on-demand cost of the same work. */
export function expectedCostRatio(args: {
  spotPrice: number;
  onDemandPrice: number;
  hours: number;
  lambda: number;
  restartHours: number;
  checkpointHours: number | null;
}): number {
  const spot = args.spotPrice * expectedRunHours(args.hours, args.lambda, args.restartHours, args.checkpointHours);
  return spot / (args.onDemandPrice * args.hours);
}
