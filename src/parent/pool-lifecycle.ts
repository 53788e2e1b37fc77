/**
 * How a pool starts and stops: the moves of its state (created -> starting -> running ->
 * stopping -> stopped), the phases of a stop, the poison pill each worker gets once it has
 * answered what it must, and the kill at the stop timeout or on terminate(). The state and the
 * stop phase are PoolCore's fields, which its submission path reads for every task; only this
 * moves them on, through its host.
 */
import type { ControlledPool } from '../control/server.ts';
import { PoolStoppedError, type TaskFailure, type WorkerInitError } from '../errors.ts';
import type { PoolSource } from '../metrics/pool-reporter.ts';
import { stopTimeoutOption } from './call-options.ts';
import type { PoolState } from './events.ts';
import type { PoolServices } from './pool-services.ts';
import type { Supervisor } from './supervisor.ts';
import type { TaskQueue } from './task-queue.ts';
import { monotonicMs } from '../internal/monotonic.ts';

/**
 * How far a stop has got: `draining` (stop({ drain: true }): queued tasks still go out),
 * `cancelling` (the queue was rejected; tasks in flight finish), `pilled` (no task goes out any
 * more: every worker was sent the poison pill, or killed, for a stop timeout or terminate()).
 */
export type StopPhase = 'draining' | 'cancelling' | 'pilled';

/**
 * How long a drain holds back the other workers' pills for a worker's answer to a request to hand
 * tasks back: a worker reads it between two slices of its tasks, within milliseconds; one whose
 * loop a task blocks never does, and the others would wait for the stop timeout, then be killed
 * without their dispose().
 */
const RECLAIM_WAIT = 1000;

/** What a start and a stop move on (PoolCore's state and stop phase) and act on. */
export interface LifecycleHost {
  state(): PoolState;
  setState(state: PoolState): void;
  phase(): StopPhase | undefined;
  setPhase(phase: StopPhase): void;
  readonly supervisor: Supervisor;
  readonly queue: TaskQueue;
  readonly services: PoolServices;
  /** Fail every queued task with `error`. */
  rejectQueued(error: TaskFailure): void;
  /** End the result streams: the pool is stopped. */
  endStreams(): void;
  /** Dispatch what the credits allow. */
  pump(): void;
}

export class PoolLifecycle {
  readonly #host: LifecycleHost;
  #startPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;
  /** Called once the pool is stopped (stopOnSignals() removers). */
  readonly #onStopped: (() => void)[] = [];
  #terminating = false;
  #killedBecause: string | undefined;
  /** A drain's next look at the workers' pills, while it waits for a hand-back (see maybePill). */
  #recheck: NodeJS.Timeout | undefined;

  constructor(host: LifecycleHost) {
    this.#host = host;
  }

  /** Call `callback` once the pool is stopped (at once if it is). */
  whenStopped(callback: () => void): void {
    if (this.#host.state() === 'stopped') callback();
    else this.#onStopped.push(callback);
  }

  #stopped(): void {
    this.#host.setState('stopped');
    for (const callback of this.#onStopped.splice(0)) callback();
  }

  /** stop() (or terminate()) was called: from then on the pool takes no task and no broadcast, also while it still starts. */
  get stopCalled(): boolean {
    return this.#stopPromise !== undefined;
  }

  /** Why the workers were killed rather than pilled, if they were. */
  get killedBecause(): string | undefined {
    return this.#killedBecause;
  }

  /** `facade`: the Pool, as seen by the metrics reporter and the control channel. */
  start(facade: PoolSource & ControlledPool): Promise<void> {
    // After stop() or terminate() a pool does not start again, and says so: the first start's
    // promise, fulfilled, would say it runs.
    if (this.stopCalled) return Promise.reject(new PoolStoppedError());
    this.#startPromise ??= this.#start(facade);
    return this.#startPromise;
  }

  async #start(facade: PoolSource & ControlledPool): Promise<void> {
    const host = this.#host;
    if (host.state() !== 'created') throw new PoolStoppedError();
    host.setState('starting');
    host.supervisor.initExtras = await host.services.startBeforeWorkers(facade);
    // Open before the workers start: a `looppool stop` during a slow start then stops the pool
    // (the stop waits for the start), where without a socket it fell back to SIGTERM and ended the application.
    await host.services.openControl(facade);
    try {
      // terminate(), or a stop's timeout, while the services started: no worker was there to kill.
      if (this.#terminating || this.#killedBecause !== undefined) throw new PoolStoppedError();
      await host.supervisor.start();
    } catch (error) {
      await host.services.close();
      this.#stopped();
      // A stop waiting for this start: the pool stops, whatever ended the start (a worker still
      // booting that died of the Ctrl-C that asked for the stop, say); the cause says what it was.
      const reason = this.#terminating
        ? new PoolStoppedError('The pool was terminated while it was starting')
        : this.#killedBecause !== undefined
          ? new PoolStoppedError(`The pool stopped (${this.#killedBecause}) while it was starting`)
          : this.stopCalled ? new PoolStoppedError('The pool was stopped while it was starting', { cause: error }) : (error as WorkerInitError); // supervisor.start()'s
      host.rejectQueued(reason);
      host.endStreams();
      throw reason;
    }
    if (host.state() === 'starting') host.setState('running');
    // A stop called meanwhile sends the queue out itself, as its phase says (a drain marks what it sends).
    if (!this.stopCalled) host.pump();
  }

  /** A bad `timeout` rejects this call only: the pool goes on, and can still be stopped. */
  stop(drain: boolean, timeout: number): Promise<void> {
    try {
      stopTimeoutOption(timeout);
    } catch (error) {
      return Promise.reject(error as TypeError);
    }
    this.#stopPromise ??= this.#stop(drain, timeout);
    return this.#stopPromise;
  }

  async #stop(drain: boolean, timeout: number): Promise<void> {
    const host = this.#host;
    if (host.state() === 'created') {
      this.#stopped();
      host.endStreams();
      return;
    }
    // The timeout bounds the whole stop, a slow start included: past it, the starting workers are killed.
    const stopBy = monotonicMs() + timeout;
    if (host.state() === 'starting') {
      const killStart = timeout === Infinity ? undefined : setTimeout(() => this.#killStart('the stop timeout passed'), timeout);
      await this.#startPromise?.catch(() => {});
      clearTimeout(killStart);
    }
    if (host.state() === 'stopped') return;
    host.setState('stopping');
    host.setPhase(drain ? 'draining' : 'cancelling');
    // Submissions waiting for room were given their ids: they are the pool's tasks, which a drain
    // runs and a stop without one rejects, as it does the queued ones.
    host.queue.admitWaiting();
    if (!drain) host.rejectQueued(new PoolStoppedError('The pool was stopped before the task was dispatched'));
    const timer = timeout === Infinity ? undefined : setTimeout(() => this.#forceStop('the stop timeout passed'), Math.max(0, stopBy - monotonicMs()));
    if (this.#terminating) this.#forceStop('the pool was terminated');
    else host.pump(); // the queue a start held back goes out now (a drain), then the pills
    await host.supervisor.whenEmpty();
    clearTimeout(timer);
    clearTimeout(this.#recheck);
    await host.services.close();
    this.#stopped();
    host.endStreams();
  }

  /** Stop at once: the queue is rejected and the workers killed, during a start too. `stopTimeout`: the pool's. */
  terminate(stopTimeout: number): Promise<void> {
    this.#terminating = true;
    if (this.#host.state() === 'starting') this.#host.supervisor.killAll('stop'); // do not wait for a slow initialize()
    const stopping = this.stop(false, stopTimeout);
    if (this.#host.state() === 'stopping') this.#forceStop('the pool was terminated');
    return stopping;
  }

  /**
   * While stopping, each time work may have ended: once no task is left to go out, the pill for
   * every worker that has answered what it must first; the phase is `pilled` once all have it.
   */
  maybePill(): void {
    const { supervisor, queue } = this.#host;
    const phase = this.#host.phase();
    // A worker asked to hand tasks back answers first: a drain sends them to the others, so none
    // gets its pill before, for RECLAIM_WAIT at most (a blocked loop never answers); a stop
    // without a drain sends them back to a worker not yet pilled (that one, at least).
    if (phase === 'pilled' || (phase === 'draining' && this.#waitingForReclaims())) return;
    // A drain finishes the queued tasks: a worker gets its pill once none of them can go to it
    // (none is left, or those left were sent to other workers by number) and it answered those it
    // was sent during the stop (a plain Worker abandons what it holds at the pill).
    let waiting = queue.length > 0;
    for (const h of supervisor.live()) {
      if (h.tasks.reclaiming || queue.hasWorkFor(h.number) || h.tasks.beforePill) waiting = true;
      else h.poisonPill('stop', phase === 'draining');
    }
    if (waiting) return;
    this.#host.setPhase('pilled');
    supervisor.beginStop();
    supervisor.pillAll();
  }

  /** A drain still waits for a hand-back asked for under RECLAIM_WAIT ago: look again once it has waited that long. */
  #waitingForReclaims(): boolean {
    let askedAt = -Infinity;
    for (const h of this.#host.supervisor.handles) askedAt = Math.max(askedAt, h?.tasks.reclaimAskedAt ?? -Infinity);
    const wait = askedAt + RECLAIM_WAIT - monotonicMs();
    if (!(wait > 0)) return false;
    this.#recheck ??= setTimeout(() => {
      this.#recheck = undefined;
      this.maybePill();
    }, wait);
    return true;
  }

  /** Kill the workers still starting (the start then rejects with PoolStoppedError). */
  #killStart(why: string): void {
    this.#killedBecause ??= why;
    this.#host.supervisor.killAll('stop');
  }

  #forceStop(why: string): void {
    this.#host.setPhase('pilled');
    this.#killedBecause ??= why;
    this.#host.rejectQueued(new PoolStoppedError(`The pool stopped (${why}) before the task was dispatched`));
    this.#host.supervisor.killAll('stop');
  }
}
