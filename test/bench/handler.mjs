/**
 * The one task handler every system runs, so that all of them do exactly the same work.
 * A task is plain JSON:
 * - a number or a string: echoed back (workloads A, D, E, F);
 * - `{ s: ms, v }`: wait `ms` on a timer, then answer `v` (workload C);
 * - `{ c: iterations, v }`: spin the CPU for `iterations` xorshift rounds seeded with `v`,
 *   answer the final state (workload B; the parent checks a sample of answers);
 * - `{ h: 1 }`: never answer (the memory workload keeps tasks queued in the parent).
 */
import { setTimeout as sleep } from 'node:timers/promises';

export function handle(task) {
  if (typeof task !== 'object' || task === null) return task;
  if (task.s !== undefined) return sleep(task.s, task.v);
  if (task.c !== undefined) return spin(task.c, task.v);
  if (task.h !== undefined) return new Promise(() => {});
  return task;
}

/** Deterministic CPU work: `iterations` rounds of xorshift32 from `seed`. */
export function spin(iterations, seed) {
  let x = (seed | 0) || 1;
  for (let k = 0; k < iterations; k++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  return x | 0;
}
