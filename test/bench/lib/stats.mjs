/** Small statistics helpers: medians, ranges and percentiles over plain arrays of numbers. */

export function median(values) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The `p`-th percentile (0..100) of `values`, nearest-rank. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const s = values instanceof Float64Array ? values.slice().sort() : [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank];
}

/** `{ median, min, max, n }` of `values`. */
export function summary(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}
