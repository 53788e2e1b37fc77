/**
 * The watchdog thread at the lowest CPU priority (Linux, best effort). A Node thread costs about
 * 40 ms of CPU to boot (an isolate and Node's bootstrap, however small its module); started as
 * the worker became ready, that boot took the CPU from the worker's first tasks (on 2 cores, B
 * and C of manual/performance.md ran 3% and 12% slower than with no watchdog). At nice 19 it
 * boots in the CPU's idle moments instead, and it needs next to nothing afterwards (a poll every
 * 100 ms).
 *
 * On Linux the nice value belongs to each thread, and `setpriority()` (Node's `os.setPriority`)
 * takes a thread id; Node does not tell a thread's id, so the new thread is the one entry that
 * appeared in `/proc/self/task` while it was created (the main thread runs nothing else meanwhile).
 *
 * A thread inherits the nice value of the thread that creates it. libuv's thread pool (fs, dns,
 * crypto) is created by the first thread that needs it, so it must not be the watchdog: in a
 * worker process it never is, because Node's ES module loader has already used the pool to read
 * the worker's entry before any of our code runs (checked: only the watchdog thread of a worker
 * runs at nice 19; test/integration/watchdog counts them).
 */
import { readdirSync } from 'node:fs';
import { constants, setPriority } from 'node:os';

/** The ids of this process's threads, or `undefined` where they cannot be read (not Linux). */
export function threadIds(): ReadonlySet<string> | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return new Set(readdirSync('/proc/self/task'));
  } catch {
    return undefined;
  }
}

/**
 * Give the one thread started since `before` (from {@link threadIds}) the lowest priority.
 * Returns whether it did: nothing is changed unless exactly one new thread is found.
 */
export function lowerNewThreadPriority(before: ReadonlySet<string> | undefined): boolean {
  if (!before) return false;
  try {
    const added = readdirSync('/proc/self/task').filter((id) => !before.has(id));
    if (added.length !== 1) return false;
    setPriority(Number(added[0]), constants.priority.PRIORITY_LOW);
    return true;
  } catch {
    return false; // a priority is an optimisation: never fail the worker for it
  }
}
