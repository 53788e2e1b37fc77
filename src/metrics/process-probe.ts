/**
 * CPU and RSS of other processes, measured from outside with pidusage (`/proc/<pid>/stat` on
 * Linux, `ps` elsewhere). The parent uses it on its workers: a worker whose event loop is blocked
 * cannot report itself, but its CPU time still shows up here.
 */
import type pidusageFn from 'pidusage';
import { MAX_DELAY_MS } from '../internal/delay.ts';
import { lazyRequire } from '../internal/lazy-require.ts';

const pidusage = lazyRequire<typeof pidusageFn>('pidusage');
/** pidusage's history of each pid (not part of its API: the version is pinned in package.json). */
const pidusageHistory = lazyRequire<{ get?: (pid: number, maxage: number) => unknown }>('pidusage/lib/history');

/**
 * What pidusage reports of a process, the part looppool reads. Its own type is not named in
 * looppool's declarations: `@types/pidusage` is not installed with looppool, and a project that
 * type-checks its dependencies' declarations (`skipLibCheck: false`) could not resolve it.
 */
interface PidUsage {
  /** RSS, bytes. */
  readonly memory: number;
  /** CPU time used since the process started, ms. */
  readonly ctime: number;
  /** When it was read (`Date.now()`). */
  readonly timestamp: number;
}

/** looppool's pidusage reads, one after the other, how many are under way or waiting, and the pids that exited meanwhile. */
let queue: Promise<unknown> = Promise.resolve();
let reading = 0;
let used = false;
const released = new Set<number>();

/**
 * pidusage, looppool's calls one at a time: two at once on a pid it has no history of yet each
 * open `/proc/<pid>/stat`, and it keeps only the last descriptor (the others stay open for
 * good). Counted, for {@link releaseUsage}.
 */
export function readUsage(pids: number[], options?: { maxage: number }): Promise<Readonly<Record<string, PidUsage>>> {
  used = true;
  reading++;
  const read = queue.then(() => pidusage()(pids, options));
  const done = (): void => {
    if (--reading === 0) closeReleased();
  };
  queue = read.then(done, done);
  return read;
}

/**
 * Let pidusage let go of a process that exited. It keeps `/proc/<pid>/stat` open until the pid's
 * history expires, `maxage` after its last reading, then up to `maxage / 2` more (60-90 s by
 * default): a pool that replaced workers often held hundreds of descriptors, after its stop too.
 * The descriptor is closed once no read of looppool's is under way (a descriptor number closed
 * under a read could be reused by another file), and the history expires at pidusage's next sweep.
 */
export function releaseUsage(pid: number): void {
  if (!used) return;
  released.add(pid);
  if (reading === 0) closeReleased();
}

function closeReleased(): void {
  if (released.size === 0) return;
  let history: ReturnType<typeof pidusageHistory>;
  try {
    history = pidusageHistory();
  } catch {
    released.clear(); // another pidusage: its descriptors expire as they always did
    return;
  }
  for (const pid of released) {
    const entry = history.get?.(pid, 1) as { fd?: unknown } | undefined; // expires now
    if (typeof entry?.fd !== 'number') continue;
    try {
      process.getBuiltinModule('node:fs').closeSync(entry.fd);
    } catch {
      // closed already
    }
    entry.fd = undefined; // pidusage closes only what it still finds there
  }
  released.clear();
}

/** One process over the interval since its previous reading. */
export interface ProcessUsage {
  /** % of one core; undefined on the first reading of a pid (pidusage has no previous reading to compare with). */
  readonly cpu: number | undefined;
  /** Resident set size, bytes. */
  readonly rss: number;
}

/** Reads the CPU time and RSS of several pids; missing entries are processes that could not be read (gone). */
export type UsageReader = (pids: number[]) => Promise<Readonly<Record<string, Pick<PidUsage, 'memory' | 'ctime' | 'timestamp'> | null | undefined>>>;

/**
 * pidusage, keeping each pid's history at least `maxage` ms (its default, 60 s, would expire
 * between slow ticks), at most {@link MAX_DELAY_MS}: pidusage runs a timer every `maxage / 2`
 * ms, and one past that limit fires every millisecond instead (a TimeoutOverflowWarning, and an
 * idle parent kept busy), which a `reportInterval` of a third of the limit or more asked for.
 */
export function pidusageReader(maxage = 60_000): UsageReader {
  const options = { maxage: Math.min(maxage, MAX_DELAY_MS) };
  return (pids) => readUsage(pids, options);
}

export class ProcessProbe {
  readonly #read: UsageReader;
  /**
   * Each pid's previous reading by this probe: the next CPU figure covers the time since. Not
   * pidusage's own `cpu`, which covers the time since its last reading of the pid by anyone (the
   * pool's memory check reads the same workers every second: the interval's figure was its last second's).
   */
  readonly #previous = new Map<number, { readonly ctime: number; readonly at: number }>();

  constructor(read: UsageReader = pidusageReader()) {
    this.#read = read;
  }

  /**
   * Make pidusage's first call of this process now (on this process itself): it execs `getconf`
   * twice, about 30 ms of CPU and four short-lived processes, once per process. A pool does this
   * as it starts, while its workers boot, instead of when the first worker is ready and its first
   * tasks run. Never rejects.
   */
  async warmUp(): Promise<void> {
    try {
      await this.#read([process.pid]);
    } catch {
      // not readable: sample() will tell
    }
    // Nothing reads this process again (it reports itself): without this pidusage kept its
    // /proc/<pid>/stat open 60-90 s (up to 1.5 reportIntervals), after the pool's stop too.
    releaseUsage(process.pid);
  }

  /** Take a first reading of a new process now, so the next `sample()` has a CPU figure for it. Never rejects. */
  async prime(pid: number): Promise<void> {
    try {
      const stat = (await this.#read([pid]))[String(pid)];
      if (stat) this.#previous.set(pid, { ctime: stat.ctime, at: stat.timestamp });
    } catch {
      // gone already, or not readable: sample() will tell
    }
  }

  /** Drop what is known about a process that exited. */
  forget(pid: number): void {
    this.#previous.delete(pid);
    releaseUsage(pid);
  }

  /** CPU and RSS of each readable pid. Never rejects: a failed read gives an empty map. */
  async sample(pids: readonly number[]): Promise<Map<number, ProcessUsage>> {
    const usage = new Map<number, ProcessUsage>();
    if (pids.length === 0) return usage;
    let result: Awaited<ReturnType<UsageReader>>;
    try {
      result = await this.#read([...pids]);
    } catch {
      return usage; // with one pid, pidusage rejects when it is gone
    }
    for (const pid of pids) {
      const stat = result[String(pid)];
      // No reading, or a zombie between its exit and its reaping (RSS 0): nothing to report.
      if (!stat || stat.memory === 0) continue;
      const before = this.#previous.get(pid);
      const ms = before && stat.timestamp - before.at;
      usage.set(pid, { cpu: before && ms && ms > 0 ? (Math.max(0, stat.ctime - before.ctime) / ms) * 100 : undefined, rss: stat.memory });
      this.#previous.set(pid, { ctime: stat.ctime, at: stat.timestamp });
    }
    for (const pid of this.#previous.keys()) if (!pids.includes(pid)) this.#previous.delete(pid);
    return usage;
  }
}
