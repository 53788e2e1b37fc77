/**
 * The watchdog thread at a lower CPU priority than the thread that starts it (Linux, best
 * effort): {@link WATCHDOG_NICE_STEPS} nice steps below, at most nice 19. A Node thread costs
 * about 40 ms of CPU to boot (an isolate and Node's bootstrap, however small its module); started
 * as the worker became ready, that boot took the CPU from the worker's first tasks (on 2 cores, B
 * and C of manual/performance.md ran 3% and 12% slower than with no watchdog). A lower priority
 * lets the worker's own start and first tasks go first; the boot mostly uses the CPU's idle
 * moments.
 *
 * Not the lowest priority, though: the thread's work matters most when the CPUs are busy (a
 * worker spinning in `for (;;);` on a loaded machine). At nice 19 (a weight of 15 against a
 * nice-0 thread's 1,024) its boot waited that long: with two more busy processes per CPU, an
 * orphaned, blocked worker lived on for ~20 s (2 cores); at 10 steps below (weight 110) it was
 * gone in ~1.7 s, and a pool with `blockedLoopThreshold` gave its first result as soon (189
 * against 192 ms at nice 19; at the main thread's own priority 205 against 187: medians of 8
 * alternating runs of E, two workers on 2 cores).
 *
 * On Linux the nice value belongs to each thread, and `setpriority()` (Node's `os.setPriority`)
 * takes a thread id; Node does not tell a thread's id, so the new thread is the one entry that
 * appeared in `/proc/self/task` while it was created (the main thread runs nothing else meanwhile).
 *
 * A thread inherits the nice value of the thread that creates it. libuv's thread pool (fs, dns,
 * crypto) is created by the first thread that needs it, so it must not be the watchdog: in a
 * worker process it never is, because Node's ES module loader has already used the pool to read
 * the worker's entry before any of our code runs (checked: only the watchdog thread of a worker
 * runs at the lower priority; test/integration/watchdog counts them).
 */
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** How many nice steps below its creator the watchdog thread runs (capped at nice 19). */
const WATCHDOG_NICE_STEPS = 10;
const LOWEST = 19;

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
 * Lower the priority of the one thread started since `before` (from {@link threadIds}) by
 * {@link WATCHDOG_NICE_STEPS}. Returns whether it did: nothing is changed unless exactly one new
 * thread is found.
 */
export function lowerNewThreadPriority(before: ReadonlySet<string> | undefined): boolean {
  if (!before) return false;
  try {
    const added = readdirSync('/proc/self/task').filter((id) => !before.has(id));
    if (added.length !== 1) return false;
    const tid = Number(added[0]);
    setPriority(tid, Math.min(LOWEST, getPriority(tid) + WATCHDOG_NICE_STEPS));
    return true;
  } catch {
    return false; // a priority is an optimisation: never fail the worker for it
  }
}
