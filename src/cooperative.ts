/**
 * Cooperative multitasking helpers for CPU-heavy code that shares its process's event loop with
 * other tasks (the Node analogues of gevent's `sleep(0)` and `idle()`).
 *
 * `performance` is the global, not an import of node:perf_hooks: every worker imports this file
 * (through looppool/worker), and the import would load perf_hooks at its start (~1-2 ms of CPU)
 * for code that may never run.
 */
import { notOptionsObject } from './internal/known-keys.ts';
import { readOptions } from './internal/option-checks.ts';

/**
 * Let the event loop run pending I/O and timers before you continue: `await yieldToLoop()`
 * every few milliseconds of CPU work keeps the other tasks of the process responsive.
 *
 * Two immediates, not one: a task started from an I/O callback (every task: the parent's
 * messages arrive as I/O) runs in the loop's poll phase, and a single `setImmediate` would
 * resolve in the check phase of that same turn, before any timer that expired meanwhile and any
 * I/O that arrived. The second one resolves on the next turn, after its timers and its poll.
 */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * Wait until the event loop is idle: a loop turn in which it found no pending I/O and waited.
 * Use it for background work that should only run when nothing else needs the process.
 * Resolves `false` if the loop stayed busy until `timeout` ms passed, `true` otherwise.
 */
export async function whenIdle(options: { timeout?: number | undefined } = {}): Promise<boolean> {
  const timeout = readWhenIdleTimeout(options);
  const deadline = timeout === undefined ? Infinity : performance.now() + timeout;
  let last = performance.eventLoopUtilization();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    const now = performance.eventLoopUtilization();
    if (performance.eventLoopUtilization(now, last).idle > 0) return true;
    if (performance.now() >= deadline) return false;
    last = now;
  }
}

const WHEN_IDLE_KEYS: ReadonlySet<string> = new Set(['timeout']);

/**
 * `whenIdle`'s `timeout`, read once (readOptions) from an object whose only key it is: ms >= 0
 * or Infinity (a null gets the same message as any other value that is no number).
 * @throws {TypeError}
 */
function readWhenIdleTimeout(options: unknown): number | undefined {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected the options of whenIdle() to be an object such as { timeout: 1000 }, got ${describe(options)}`);
  }
  let kind: string | undefined;
  try {
    kind = notOptionsObject(options);
  } catch {
    kind = undefined; // a Proxy's trap that throws: readOptions says so, with what it threw
  }
  if (kind !== undefined) throw new TypeError(`Expected the options of whenIdle() to be an object such as { timeout: 1000 }, got ${kind}`);
  const { timeout } = readOptions(options, WHEN_IDLE_KEYS, '', ' of whenIdle() (it takes `timeout`)', WHEN_IDLE_KEYS);
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout >= 0 && !Number.isNaN(timeout))) {
    throw new TypeError(`Expected \`timeout\` of whenIdle() to be a number of ms >= 0 (or Infinity), got ${describe(timeout)}`);
  }
  return timeout as number | undefined;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `'${value}' (string)` : `${String(value)} (${value === null ? 'null' : typeof value})`;
}
