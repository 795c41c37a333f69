/** Median / MAD robust scores (Iglewicz and Hoaglin's modified z-score). */

export function median(xs: readonly number[]): number {
  // A Float64Array's numeric sort (no comparator call per step) orders finite numbers as
  // (a, b) => a - b does; NaN (which that comparator leaves wherever) and -0 (which it keeps
  // beside +0 in input order) take the general sort, so the result is the same double.
  let plain = true;
  for (const x of xs) if (x !== x || Object.is(x, -0)) plain = false;
  const s = plain ? Float64Array.from(xs).sort() : [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Median absolute deviation (unscaled). */
export function mad(xs: readonly number[], med = median(xs)): number {
  return median(xs.map((x) => Math.abs(x - med)));
}

/**
 * Modified z-score 0.6745 (x - median) / MAD. When the MAD is 0 (half the samples equal),
 * the mean absolute deviation times 1.2533 stands in, as IBM SPSS and Iglewicz-Hoaglin
 * suggest, so a constant history still flags a departure.
 */
export function robustZ(x: number, history: readonly number[]): { z: number; median: number; mad: number } {
  const med = median(history);
  const m = mad(history, med);
  if (m > 0) return { z: (0.6745 * (x - med)) / m, median: med, mad: m };
  const meanAbs = history.reduce((s, h) => s + Math.abs(h - med), 0) / history.length;
  if (meanAbs > 0) return { z: (x - med) / (1.2533 * meanAbs), median: med, mad: 0 };
  return { z: x === med ? 0 : Number.POSITIVE_INFINITY * Math.sign(x - med), median: med, mad: 0 };
}
