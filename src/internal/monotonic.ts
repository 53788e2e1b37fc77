/**
 * Milliseconds on a clock that only moves forward, for measuring how long something took.
 * `Date.now()` follows the wall clock, which a time daemon, a resumed virtual machine or an
 * operator may step: stepped back an hour, it stretches every budget and hold measured with it by
 * an hour. `process.hrtime()` costs what a `Date.now()` call does and, unlike the global
 * `performance`, loads no modules (perf_hooks and ten of Node's internal ones, in a worker that
 * may not need them).
 */
export function monotonicMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1000 + nanoseconds / 1e6;
}
