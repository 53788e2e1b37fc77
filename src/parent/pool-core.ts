/**
 * The machinery behind the `Pool` facade: the pool's state, the submission path, and the wiring
 * of the collaborators — the lifecycle (start and stop: the state's moves, the stop phases, the
 * poison pill and the kill), the dispatcher (fair credits), the supervisor (processes), the task
 * outcomes (settling, retries, timeouts), the broadcaster, the result streams, the services
 * beside the workers (Sentry, metrics, the control channel) and incident reporting. Every task
 * settles exactly once, through `outcomes`.
 */
import { PoolStoppedError, PoolUnhealthyError, WorkerStoppedError, type TaskFailure } from '../errors.ts';
import type { ControlledPool } from '../control/server.ts';
import type { PoolSource } from '../metrics/pool-reporter.ts';
import type { MetricSource } from '../metrics/resource-reporter.ts';
import type { ResolvedPoolOptions } from '../options.ts';
import { encodePayload } from '../transport/encode.ts';
import { Broadcaster } from './broadcaster.ts';
import { Dispatcher } from './dispatcher.ts';
import type { LoopBlockedInfo, PoolState, PoolStats, ResultInfo, TaskErrorInfo, WorkerErrorOrigin, WorkerExitInfo, WorkerInfo } from './events.ts';
import { Incidents } from './incidents.ts';
import { TaskOutcomes } from './outcomes.ts';
import { PoolLifecycle, type StopPhase } from './pool-lifecycle.ts';
import { PoolServices } from './pool-services.ts';
import { poolStats } from './pool-stats.ts';
import { ResultReader, ResultStream } from './result-stream.ts';
import { Supervisor, type ExitDetails, type SupervisorHost } from './supervisor.ts';
import { TaskTiming } from './task-timing.ts';
import { Rebalancer } from './rebalancer.ts';
import { readTaskOptions, Submissions, type SubmitOptions } from './submission.ts';
import type { PendingTask, TaskMode } from './task.ts';
import { TaskQueue } from './task-queue.ts';
import type { WorkerHandle } from './worker-handle.ts';
import { monotonicMs } from '../internal/monotonic.ts';

/** What the core tells the facade, which turns it into events (or stderr lines when nobody listens). */
export interface CoreEvents {
  result(value: unknown, info: ResultInfo): void;
  /** Returns false when nobody listens. */
  taskError(error: TaskFailure, info: TaskErrorInfo): boolean;
  workerError(error: Error, info: WorkerInfo & { origin: WorkerErrorOrigin }): boolean;
  workerStart(info: WorkerInfo): void;
  workerExit(info: WorkerExitInfo): void;
  loopBlocked(info: LoopBlockedInfo): boolean;
}

/** Where a `put` hears that its task was queued, or refused (the pool stopped while it waited for room). */
type Room = { queued(id: number): void; refused(error: Error): void };

const NO_ROOM: Room = { queued: () => {}, refused: () => {} };
const NOTHING = (): void => {};

export class PoolCore {
  readonly options: ResolvedPoolOptions;
  readonly #events: CoreEvents;
  readonly #supervisor: Supervisor;
  readonly #queue: TaskQueue;
  readonly #outcomes: TaskOutcomes;
  readonly #incidents: Incidents;
  readonly #broadcaster: Broadcaster;
  readonly #streams = new Set<ResultStream<unknown>>();
  readonly #services: PoolServices;
  readonly #submissions: Submissions;
  readonly #lifecycle: PoolLifecycle;
  /** Moved on by `#lifecycle` only; kept here, where the submission path reads it for every task. */
  #state: PoolState = 'created';
  /** Where a stop has got to, once the state is 'stopping' (see {@link StopPhase}); moved on by `#lifecycle`, read by `#send`. */
  #stopPhase: StopPhase | undefined;
  #unhealthy: PoolUnhealthyError | undefined;
  /** A pump is queued for the submissions made while the pool starts (see #enqueue). */
  #pumpDue = false;
  readonly #duePump = (): void => {
    this.#pumpDue = false;
    this.#pump();
  };
  /** Stamps tasks for the wait/run metrics; from construction, so tasks put before start() are stamped too. */
  readonly #timing: TaskTiming | undefined;
  readonly #rebalancer: Rebalancer;

  constructor(options: ResolvedPoolOptions, events: CoreEvents) {
    this.options = options;
    this.#events = events;
    const services = (this.#services = new PoolServices(options));
    if (options.statsd) this.#timing = new TaskTiming((wait, run, ok) => services.metrics?.pool.recordTask(wait, run, ok));
    this.#incidents = new Incidents({ name: options.name, emitLoopBlocked: events.loopBlocked, metrics: () => services.metrics, sentry: () => services.sentry });
    this.#outcomes = new TaskOutcomes(options, {
      result: (value, info) => this.#emitResult(value, info),
      taskError: (error, info) => this.#printUnlessHeard('taskError', error, info, this.#events.taskError(error, info)),
      requeue: (task, from) => dispatcher.requeue(task, from),
      // Tasks are timed only while metrics are on.
      settled: (task, ok) => this.#timing?.settled(task, ok),
      timedOut: () => services.metrics?.pool.countTimeout(),
      abandoned: (h) => {
        if (this.#state === 'stopping') this.#pump(); // a drain's pill first (beforePill: nobody awaits that task now)
        this.#supervisor.endRecycle(h);
      },
      timeoutFailed: (h, task, error) => this.#incidents.timedOut(h, task, error),
    });
    this.#submissions = new Submissions(options, this.#timing, (task, error) => {
      const holder = task.worker >= 0 ? this.#supervisor.handles[task.worker] : undefined;
      if (task.worker < 0) {
        this.#queue.cancel(task);
        if (this.#state === 'running' || this.#state === 'stopping') this.#pump(); // its room goes to a waiting put(), now
        this.#outcomes.abortQueued(task, error);
      } else {
        holder?.tasks.abort(task.id, 'abort', monotonicMs() + options.timeoutGrace);
        this.#outcomes.abortHeld(task, error, holder); // counted in `failed`; the worker's later answer settles nothing
        if (this.#state === 'stopping') this.#pump(); // the pill it may have held back (beforePill)
      }
      if (holder) this.#supervisor.endRecycle(holder); // what it holds now may be only abandoned tasks
    });
    this.#supervisor = new Supervisor(options, this.#host());
    // A worker draining for a recycle may now hold only abandoned broadcasts, which may never end.
    this.#broadcaster = new Broadcaster(options.timeoutGrace, (h) => this.#supervisor.endRecycle(h));
    const dispatcher = new Dispatcher<PendingTask>(options.dispatch, options.concurrency, (task, slot) => this.#send(task, slot));
    dispatcher.slots = this.#supervisor.handles;
    dispatcher.startingWorkers = () => this.#supervisor.starting;
    this.#queue = new TaskQueue(dispatcher, options.maxQueue);
    this.#lifecycle = new PoolLifecycle({
      state: () => this.#state,
      setState: (state) => (this.#state = state),
      phase: () => this.#stopPhase,
      setPhase: (phase) => (this.#stopPhase = phase),
      supervisor: this.#supervisor,
      queue: this.#queue,
      services,
      rejectQueued: (error) => this.#rejectQueued(error),
      endStreams: () => this.#endStreams(),
      pump: () => this.#pump(),
    });
    this.#rebalancer = new Rebalancer(this.#supervisor.handles, () => this.#state === 'running');
    this.#lifecycle.whenStopped(() => this.#outcomes.poolStopped());
  }

  /** Call `callback` once the pool is stopped (at once if it is). */
  whenStopped(callback: () => void): void {
    this.#lifecycle.whenStopped(callback);
  }

  get state(): PoolState {
    return this.#state;
  }

  /** `facade`: the Pool, as seen by the metrics reporter and the control channel. */
  start(facade: PoolSource & ControlledPool): Promise<void> {
    return this.#lifecycle.start(facade);
  }

  /**
   * Create and queue a `put` task; returns its id. When the queue is full: with `room`, it is
   * queued once there is room (`room.queued` then gets its id; `room.refused` if the pool stops
   * first); without, `QueueFullError` is thrown.
   */
  put(task: unknown, options: SubmitOptions, autoStart: () => void, room?: Room): number {
    const pending = this.#create('put', task, this.#admit('put', options), autoStart, !room);
    if (room && !this.#queue.hasRoom(pending.target)) {
      this.#queue.waitForRoom(pending, room.queued, room.refused);
    } else {
      this.#enqueue(pending); // without `room`, #create checked there is
      room?.queued(pending.id);
    }
    return pending.id;
  }

  /** Create and queue a `run` task, settled through `resolve`/`reject`; it waits for room when the queue is full. */
  run(task: unknown, options: SubmitOptions, autoStart: () => void, resolve: (value: unknown) => void, reject: (error: Error) => void): void {
    const read = this.#admit('run', options);
    const pending = this.#create('run', task, read, autoStart, false, resolve, reject);
    if (this.#queue.hasRoom(pending.target)) this.#enqueue(pending);
    else this.#queue.waitForRoom(pending, NO_ROOM.queued, NO_ROOM.refused); // a refusal settles the task itself
    this.#submissions.announce(pending, read);
  }

  async broadcast(message: unknown, timeout: number, start: () => Promise<void>): Promise<unknown[]> {
    if (this.#state === 'stopping' || this.#state === 'stopped' || this.#lifecycle.stopCalled) throw this.#stoppedError();
    const encoded = encodePayload(message, 'message', this.options.maxMessageBytes); // a bad message starts nothing
    // A running pool sends at once, so a stop() called right after pills the workers after the
    // broadcast, not before (a SafeWorker answers it before it exits).
    if (this.#state !== 'running') await start();
    if (this.#state !== 'running') throw new PoolStoppedError(); // stopped while it started
    // Ready workers, and workers still draining (tasks or broadcasts held): every process that will still read it.
    const live = this.#supervisor.live().filter((h) => h.state === 'ready' || (h.state === 'stopping' && !h.dying && (h.inFlight > 0 || this.#broadcaster.holdsAny(h))));
    return this.#broadcaster.send(live, encoded, this.options.size, timeout);
  }

  /** The pool holds the stream, not the reader returned (see result-stream.ts). */
  results(): ResultReader<unknown> {
    const stream = new ResultStream<unknown>((s) => this.#streams.delete(s));
    if (this.#state === 'stopped') stream.end();
    else this.#streams.add(stream);
    return new ResultReader(stream);
  }

  addMetricSource(source: MetricSource): () => void {
    return this.#services.addMetricSource(source);
  }

  /** A bad `timeout` rejects this call only: the pool goes on, and can still be stopped. */
  stop(drain: boolean, timeout: number): Promise<void> {
    return this.#lifecycle.stop(drain, timeout);
  }

  terminate(): Promise<void> {
    return this.#lifecycle.terminate(this.options.stopTimeout);
  }

  stats(): PoolStats {
    return poolStats({
      state: this.#state,
      healthy: !this.#unhealthy,
      size: this.options.size,
      queued: this.#queue.length,
      restarts: this.#supervisor.restarts,
      handles: this.#supervisor.handles,
      emptySlot: (n) => this.#supervisor.emptySlot(n),
      counts: this.#outcomes,
    });
  }

  /**
   * A submission's options, each read once (readTaskOptions), once the pool takes submissions:
   * what the task is made with and `run` announces it to, never the caller's object again.
   */
  #admit(mode: TaskMode, options: SubmitOptions): SubmitOptions {
    // stop() called during a start leaves the state 'starting' until the start ends: refused already.
    if (this.#state === 'stopping' || this.#state === 'stopped' || this.#lifecycle.stopCalled) throw this.#stoppedError();
    // Each caller its own error (its stack, nothing another caller set on it); the queue's tasks,
    // rejected together when the pool turned unhealthy, share one.
    if (this.#unhealthy) throw new PoolUnhealthyError(this.#unhealthy.failures, this.#unhealthy.cause as Error | undefined);
    return readTaskOptions(mode, options);
  }

  /** `options` as #admit read them. `refuseWhenFull`: a full queue refuses the task before it is made (it takes no id), though the pool starts: at maxQueue 0 only a started pool takes one. */
  #create(mode: TaskMode, task: unknown, options: SubmitOptions, autoStart: () => void, refuseWhenFull: boolean, resolve?: (v: unknown) => void, reject?: (e: Error) => void): PendingTask {
    return this.#submissions.create(mode, task, options, this.#state === 'created' ? autoStart : NOTHING, refuseWhenFull ? this.#queue.refuseIfFull : undefined, resolve, reject);
  }

  /** Why a call is refused once the pool stopped: a failed start stopped it when nobody called stop(). */
  #stoppedError(): PoolStoppedError {
    const failure = this.#lifecycle.stopCalled ? undefined : this.#supervisor.startFailure;
    return failure ? new PoolStoppedError(`The pool stopped: its start failed (${failure.message})`, { cause: failure }) : new PoolStoppedError();
  }

  #send(task: PendingTask, slot: number): void {
    const handle = this.#supervisor.handles[slot] as WorkerHandle;
    this.#timing?.dispatched(task);
    handle.tasks.send(task, this.#stopPhase === 'draining');
    this.#outcomes.armTimeout(handle, task);
    task.onDispatch?.({ worker: handle.number, pid: handle.pid });
    if (handle.tasks.counts.sent >= this.options.maxTasksPerWorker) this.#supervisor.recycle(handle);
  }

  #enqueue(task: PendingTask): void {
    this.#queue.add(task);
    if (this.#state === 'running' || this.#state === 'stopping') this.#pump();
    // While the pool starts, a worker ready already takes its share (dispatcher.ts): a task
    // submitted then waited for another worker's start, or for an answer. Once for the
    // submissions of one run of code, as a start pumps them (a pump per submission, here only,
    // had the parent compile more: 4 MiB more RSS after E's sequence).
    else if (this.#state === 'starting' && this.#supervisor.starting < this.options.size && !this.#pumpDue) {
      this.#pumpDue = true;
      queueMicrotask(this.#duePump);
    }
  }

  #pump(): void {
    // stop() called during a start: nothing goes out until the stop has chosen its phase (a drain's tasks are marked as such).
    if (this.#state === 'starting' && this.#lifecycle.stopCalled) return;
    this.#queue.pump();
    if (this.#state === 'stopping') this.#lifecycle.maybePill();
  }

  #rejectQueued(error: TaskFailure): void {
    // A put() still waiting for room is told by its own promise: no 'taskError' event as well.
    this.#queue.clear(error, (task, e, waiting) => this.#outcomes.fail(task, e, -1, !waiting));
  }

  #endStreams(): void {
    for (const stream of this.#streams) stream.end();
    this.#streams.clear();
  }

  #emitResult(value: unknown, info: ResultInfo): void {
    for (const stream of this.#streams) stream.push(value, info);
    this.#events.result(value, info);
  }

  /** `heard`: whether a listener took the event; else it goes to stderr. */
  #printUnlessHeard(event: 'taskError' | 'workerError', error: Error, info: TaskErrorInfo | WorkerInfo, heard: boolean): void {
    // As Node prints an uncaught error: its stack, its own properties (code...) and its cause
    // chain (a WorkerCrashedError's cause is what escaped the worker's tasks).
    if (!heard) process.stderr.write(`looppool ${this.options.name}: ${event} ${JSON.stringify(info)}: ${process.getBuiltinModule('node:util').inspect(error)}\n`);
  }

  #workerExited(h: WorkerHandle, details: ExitDetails, tasks: PendingTask[]): void {
    this.#incidents.crashed(h, details);
    const expected = details.reason === 'stop' || details.reason === 'recycle';
    const info = { worker: h.number, pid: h.pid, exitCode: details.exitCode, signal: details.signal, expected, reason: details.reason };
    this.#events.workerExit(h.initError ? { ...info, startError: h.initError } : info);
    // Died after its stop pill (a SafeWorker draining), or in a stop without a drain: its tasks fail.
    const mayRetry = h.pill !== 'stop' && (this.#state === 'running' || this.#state === 'starting' || (this.#state === 'stopping' && this.#stopPhase === 'draining'));
    const failedStart = this.#supervisor.startFailure;
    const killedBecause = this.#lifecycle.killedBecause ?? (failedStart && `the pool could not start (${failedStart.message})`);
    this.#outcomes.workerExited(h, details, tasks, mayRetry, killedBecause);
    this.#broadcaster.workerGone(h, details);
    this.#pump(); // a retry goes to a ready worker first
    // Unhealthy, the pool holds no queue: a retry no ready worker took fails now, not once it
    // heals; a draining stop left with nothing then goes on to its pills.
    if (this.#unhealthy) {
      this.#rejectQueued(this.#unhealthy);
      this.#pump();
    }
  }

  #host(): SupervisorHost {
    return {
      workerStarted: (h) => {
        this.#events.workerStart({ worker: h.number, pid: h.pid });
        this.#pump();
      },
      workerExited: (h, details, tasks) => this.#workerExited(h, details, tasks),
      healthChanged: (error) => {
        this.#unhealthy = error;
        if (error) this.#rejectQueued(error);
        // A drain whose queue that rejected has nothing left to finish: the stop goes on to its
        // pills now, and so ends the cooldown's respawns (it waited them out, and started one).
        this.#pump();
      },
      taskDone: (h, task, value) => {
        this.#outcomes.succeeded(h, task, value);
        if (h.state === 'stopping') this.#supervisor.endRecycle(h); // what it holds now may be only abandoned tasks
        this.#pump();
      },
      taskFailed: (h, task, error, unsendable) => {
        this.#outcomes.threw(h, task, error, unsendable);
        if (h.state === 'stopping') this.#supervisor.endRecycle(h);
        this.#pump();
      },
      idle: () => this.#rebalancer.workerIdle(),
      reclaimed: (h, tasks) => {
        // Queued again, also in a stop without a drain: tasks in flight finish there, so they go
        // back to a worker not yet sent its pill (h, at least), which runs them if it is a
        // SafeWorker; any that none takes fail as if h had kept them.
        this.#outcomes.reclaimed(h, tasks, this.#state === 'running' || (this.#state === 'stopping' && this.#stopPhase !== 'pilled'));
        this.#rebalancer.answered(h, tasks.length);
        if (this.#stopPhase === 'cancelling') {
          this.#queue.pump();
          this.#rejectQueued(new WorkerStoppedError({ worker: h.number, pid: h.pid }));
        }
        this.#pump();
      },
      result: (h, taskId, value) => this.#emitResult(value, { worker: h.number, pid: h.pid, taskId }),
      broadcastReply: (h, id, outcome) => this.#broadcaster.reply(h, id, outcome),
      abandonedBroadcastsIn: (h, now) => this.#broadcaster.abandonedIn(h, now),
      uncaught: (h, error, origin) => {
        const info = { worker: h.number, pid: h.pid, origin };
        this.#printUnlessHeard('workerError', error, info, this.#events.workerError(error, info));
      },
      loopBlocked: (h, report, quiet) => this.#incidents.loopBlocked(h, report, quiet),
    };
  }
}
