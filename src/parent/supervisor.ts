/**
 * The pool's worker processes by number: starting them, replacing one that dies (same number,
 * new pid) with exponential backoff while replacements fail to start (slot-backoff.ts), pausing
 * when starts keep failing (unhealthy), recycling on task count or memory (memory-watch.ts
 * samples it), and taking them all down.
 */
import { releaseUsage } from '../metrics/process-probe.ts';

import { PoolStoppedError, PoolUnhealthyError, type WorkerInitError } from '../errors.ts';
import type { ResolvedPoolOptions } from '../options.ts';
import { sentinelsExited } from './group-sentinel.ts';
import { MemoryWatch } from './memory-watch.ts';
import { SlotBackoff } from './slot-backoff.ts';
import type { PendingTask } from './task.ts';
import { WorkerHandle, type ExitReason, type HandleEvents, type WorkerInitExtras } from './worker-handle.ts';
import { monotonicMs } from '../internal/monotonic.ts';


export interface ExitDetails {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly reason: ExitReason;
}

/** What the supervisor tells the pool; task-level handle events pass straight through. */
export interface SupervisorHost extends Omit<HandleEvents, 'ready' | 'exit' | 'disposing'> {
  workerStarted(handle: WorkerHandle): void;
  workerExited(handle: WorkerHandle, details: ExitDetails, tasks: PendingTask[]): void;
  /** `error` set: the pool became unhealthy; undefined: it healed. */
  healthChanged(error: PoolUnhealthyError | undefined): void;
  /**
   * Whether the worker runs only broadcasts nobody waits for (they timed out, or failed at
   * another worker): undefined if not, or if it runs none; else the ms left of their grace.
   */
  abandonedBroadcastsIn(handle: WorkerHandle, now: number): number | undefined;
}

type Mode = 'idle' | 'starting' | 'running' | 'stopping';

export class Supervisor {
  /** Index = worker number; undefined while a replacement is pending. Also the dispatcher's slots. */
  readonly handles: (WorkerHandle | undefined)[];
  /** Replacement processes started (after a crash, a failed start or a recycle). */
  restarts = 0;
  readonly #options: ResolvedPoolOptions;
  readonly #host: SupervisorHost;
  readonly #events: HandleEvents;
  readonly #timers: (NodeJS.Timeout | undefined)[];
  /** The process each slot had last, once it exited: what stats() shows of a slot left empty. */
  readonly #exited: (WorkerHandle | undefined)[];
  readonly #backoff: SlotBackoff;
  /**
   * Workers of the pool's start whose process is not ready yet: while any is, a ready worker takes
   * only its share (dispatcher.ts). Not a replacement's: a survivor whose long tasks fill its share
   * would take nothing new until the replacement is ready.
   */
  readonly #starting = new Set<WorkerHandle>();
  #failuresInRow = 0;
  #unhealthy: PoolUnhealthyError | undefined;
  #mode: Mode = 'idle';
  #startFailure: WorkerInitError | undefined;
  #settleStart: ((error: WorkerInitError | undefined) => void) | undefined;
  #whenEmpty: (() => void) | undefined;
  readonly #memory: MemoryWatch;
  readonly #recycleKills = new Map<WorkerHandle, NodeJS.Timeout>(); // a recycle for memory's kill, cleared at the exit
  /** Added to every worker's init message (set before `start()`). */
  initExtras: WorkerInitExtras = {};

  constructor(options: ResolvedPoolOptions, host: SupervisorHost) {
    this.#options = options;
    this.#host = host;
    this.#events = { ...host, ready: (h) => this.#onReady(h), disposing: (h) => this.#armRecycleKill(h), exit: (h, code, signal, tasks) => this.#onExit(h, code, signal, tasks) };
    this.handles = new Array<WorkerHandle | undefined>(options.size).fill(undefined);
    this.#timers = new Array<NodeJS.Timeout | undefined>(options.size).fill(undefined);
    this.#exited = new Array<WorkerHandle | undefined>(options.size).fill(undefined);
    this.#backoff = new SlotBackoff(options.size);
    this.#memory = new MemoryWatch(options, {
      // Ready workers, and those draining for a recycle on task count: a task there holds its memory too.
      sampled: () => this.live().filter((h) => h.state === 'ready' || (h.recycling && !this.#recycleKills.has(h))),
      over: (h) => this.#recycleForMemory(h),
    });
  }

  get unhealthy(): PoolUnhealthyError | undefined {
    return this.#unhealthy;
  }

  /**
   * Start every worker; resolves when all are ready, rejects with the first WorkerInitError (after
   * killing the rest), or with a PoolStoppedError when they were all killed (`killAll`) as the
   * last one became ready.
   */
  async start(): Promise<void> {
    this.#mode = 'starting';
    const settled = new Promise<WorkerInitError | undefined>((resolve) => (this.#settleStart = resolve));
    for (let n = 0; n < this.handles.length; n++) this.#spawn(n);
    const error = await settled;
    this.#settleStart = undefined;
    if (!error && this.#mode === 'starting') {
      this.#mode = 'running';
      this.#memory.start();
      return;
    }
    if (error) this.#startFailure = error;
    this.killAll('stop');
    await this.whenEmpty();
    throw error ?? new PoolStoppedError('The pool was stopped while it was starting');
  }

  /** Why start() killed the workers it had started: the first start that failed. */
  get startFailure(): WorkerInitError | undefined {
    return this.#startFailure;
  }

  /** No more replacements; pending ones are cancelled. */
  beginStop(): void {
    this.#mode = 'stopping';
    for (let n = 0; n < this.#timers.length; n++) {
      clearTimeout(this.#timers[n]);
      this.#timers[n] = undefined;
    }
    this.#memory.stop();
    // A replacement cancelled here may have been all that was left: no exit will come to say so.
    this.#checkEmpty();
  }

  pillAll(): void {
    for (const handle of this.live()) handle.poisonPill('stop');
  }

  killAll(reason: ExitReason): void {
    this.beginStop();
    for (const handle of this.live()) handle.kill(reason);
  }

  /** Drain this worker and replace it (task count or memory limit reached). */
  recycle(handle: WorkerHandle): void {
    if ((this.#mode === 'running' || this.#mode === 'starting') && handle.state === 'ready') handle.poisonPill('recycle');
    this.endRecycle(handle);
  }

  /**
   * A worker draining for a recycle that holds only tasks that failed already (timed out, or
   * aborted by their callers) and may never end is killed, not waited for: its slot would be lost
   * for good; so is one that holds no task, only broadcasts nobody waits for (timed out, or
   * failed at another worker). An aborted task, and such a broadcast, first gets `timeoutGrace`
   * from its abort: one that honours its signal answers well within it, and the worker then
   * exits cleanly, `dispose()` run. A running worker whose every credit such tasks hold is
   * recycled so: it would take no task again.
   */
  endRecycle(handle: WorkerHandle): void {
    if (handle.state === 'ready' && handle.tasks.size >= this.#options.concurrency) {
      const wait = handle.tasks.abandonedIn(monotonicMs());
      if (wait !== undefined && wait <= 0) return this.recycle(handle);
      if (wait !== undefined) setTimeout(() => this.endRecycle(handle), wait).unref(); // an aborted task may still end in its grace
      return;
    }
    if (!handle.recycling || handle.state !== 'stopping') return;
    const now = monotonicMs();
    const wait = handle.tasks.size === 0 ? this.#host.abandonedBroadcastsIn(handle, now) : handle.tasks.abandonedIn(now);
    if (wait === undefined) return;
    if (wait <= 0) handle.kill('recycle');
    else setTimeout(() => this.endRecycle(handle), wait).unref();
  }

  /**
   * Slot `n` while no process runs there: whether a replacement is due (a respawn timer, the
   * unhealthy pause's too), and the process that exited there last, if any.
   */
  emptySlot(n: number): { readonly replacing: boolean; readonly last: WorkerHandle | undefined } {
    return { replacing: this.#timers[n] !== undefined, last: this.#exited[n] };
  }

  /** How many workers of the pool's start are starting: their process runs, and is not ready yet. */
  get starting(): number {
    return this.#starting.size;
  }

  live(): WorkerHandle[] {
    return this.handles.filter((h): h is WorkerHandle => h !== undefined && h.state !== 'exited');
  }

  /**
   * Resolves once no process is left and none is about to be started: no worker, and no sentinel
   * that the end of the last worker group it watched told to exit (group-sentinel.ts).
   */
  async whenEmpty(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#whenEmpty = resolve;
      this.#checkEmpty();
    });
    await sentinelsExited();
  }

  #spawn(n: number): void {
    const handle = new WorkerHandle(n, this.#options, this.#events, this.initExtras);
    this.handles[n] = handle;
    if (this.#mode === 'starting') this.#starting.add(handle);
  }

  #onReady(handle: WorkerHandle): void {
    this.#starting.delete(handle); // before the pool's pump: the others' share is lifted
    this.#backoff.ready(handle.number);
    this.#failuresInRow = 0;
    if (this.#unhealthy) {
      this.#unhealthy = undefined;
      this.#host.healthChanged(undefined);
    }
    this.#host.workerStarted(handle);
    // Started once every slot has had a worker ready: one that left since (a recycle, an escaped
    // error) does not hold the start, which would otherwise wait for a replacement a stop cancels.
    // Whatever the mode is now: a terminate() in the 'workerStart' listener just called has killed
    // them all (start() then rejects), and no worker that had not been ready is left to end the start.
    if (this.handles.every((_, n) => this.#backoff.everReady(n))) this.#settleStart?.(undefined);
  }

  #onExit(handle: WorkerHandle, exitCode: number | null, signal: NodeJS.Signals | null, tasks: PendingTask[]): void {
    this.#starting.delete(handle); // one that never was ready holds back no share
    clearTimeout(this.#recycleKills.get(handle));
    this.#recycleKills.delete(handle);
    releaseUsage(handle.pid); // the memory watch's reads of it
    const n = handle.number;
    if (this.handles[n] === handle) {
      this.handles[n] = undefined;
      this.#exited[n] = handle;
    }
    const initError = handle.initError; // set when it exits before it was ever ready
    this.#backoff.exited(handle);
    if (initError) this.#failuresInRow++;
    this.#host.workerExited(handle, { exitCode, signal, reason: handle.exitReason }, tasks);
    if (this.#settleStart && initError) {
      // Still starting (or killed while starting): start() fails, whatever the mode is now.
      this.#settleStart(initError);
    } else if ((this.#mode === 'running' || this.#mode === 'starting') && handle.exitReason !== 'stop' && handle.pill !== 'stop') {
      if (initError && this.#failuresInRow >= this.#options.maxStartFailures) this.#becomeUnhealthy(initError);
      else this.#respawn(n, handle.exitReason === 'recycle' ? 0 : this.#backoff.delay(n));
    }
    this.#checkEmpty();
  }

  #respawn(n: number, delay: number): void {
    if (this.#timers[n] || this.handles[n]) return;
    this.#timers[n] = setTimeout(() => {
      this.#timers[n] = undefined;
      if (this.#mode === 'running' || this.#mode === 'starting') {
        this.restarts++; // counted when started: a replacement cancelled (unhealthy, stop) never was
        this.#spawn(n);
      }
      this.#checkEmpty();
    }, delay);
  }

  /** Too many failed starts in a row: stop respawning for `unhealthyCooldown`, then try every empty slot once. */
  #becomeUnhealthy(cause: WorkerInitError): void {
    const first = !this.#unhealthy;
    this.#unhealthy = new PoolUnhealthyError(this.#failuresInRow, cause);
    for (let n = 0; n < this.#timers.length; n++) {
      clearTimeout(this.#timers[n]);
      this.#timers[n] = undefined;
    }
    const missing = this.handles.map((h, n) => (h ? -1 : n)).filter((n) => n >= 0);
    for (const n of missing) this.#respawn(n, this.#options.unhealthyCooldown);
    // Told last: a draining stop whose queue this empties goes on to its end (beginStop()), which
    // cancels the respawns just planned.
    if (first) this.#host.healthChanged(this.#unhealthy);
  }

  #checkEmpty(): void {
    if (!this.#whenEmpty || this.live().length > 0 || this.#timers.some((t) => t !== undefined)) return;
    const resolve = this.#whenEmpty;
    this.#whenEmpty = undefined;
    resolve();
  }

  /**
   * Over `maxMemoryPerWorker`: recycled, and killed if it has not exited `stopTimeout` after (a
   * worker whose loop is blocked never reads its pill, and one whose task never ends would keep
   * the memory for good). A recycle for `maxTasksPerWorker` waits as long as its tasks take, until
   * the worker is over the limit too: then it has `stopTimeout` as well.
   */
  #recycleForMemory(handle: WorkerHandle): void {
    this.recycle(handle);
    this.#armRecycleKill(handle);
  }

  /** Kill a recycling worker not gone `stopTimeout` from now: one over memory, or whose `dispose()` began (one that never ends would hold its slot for good). */
  #armRecycleKill(handle: WorkerHandle): void {
    if (!handle.recycling || this.#options.stopTimeout === Infinity || this.#recycleKills.has(handle)) return;
    this.#recycleKills.set(handle, setTimeout(() => handle.kill('recycle'), this.#options.stopTimeout).unref());
  }
}
