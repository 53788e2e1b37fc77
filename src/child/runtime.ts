/**
 * The life of a worker process: hello → init (load the module, `initialize()`) → ready → tasks
 * → poison pill → exit. Runs one Worker instance with many tasks in flight; every task the
 * parent sent is answered exactly once (done or failed) unless the process stops first
 * (task-answer.ts calls `processMessage` and sends the answer).
 */
import { PROTOCOL, type InitMessage, type ToChildMessage } from '../protocol/messages.ts';
import { parseToChild } from '../protocol/parse.ts';
import { serializeError } from '../protocol/serialized-error.ts';
import type { Channel } from '../transport/channel.ts';
import { encodePayload } from '../transport/encode.ts';
import { ResultClosedError, WorkerStoppedError } from '../errors.ts';
import { answerBroadcast } from './broadcast.ts';
import { abandonTasks, disposeWorker, exitProcess, reportEscaped, reportUncaught, type EscapeOrigin } from './exit.ts';
import { WorkerModule } from './load-worker.ts';
import { handBack } from './hand-back.ts';
import { RunQueue } from './run-queue.ts';
import { NOT_DELIVERING, type RuntimeState } from './runtime-state.ts';
import { callProcessMessage, sendDone, type TaskSettler } from './task-answer.ts';
import { RuntimeTaskContext } from './task-context.ts';
import { bindWorker, initializeWorker, type Worker } from './worker.ts';
import { assertNever } from '../internal/assert.ts';
import { IdTable } from '../internal/id-table.ts';
import { workerTitle } from '../internal/worker-env.ts';
import type { WorkerMetrics } from '../metrics/worker-metrics.ts';
import type { Watchdog } from './watchdog/start-watchdog.ts';
import { startServices, type WorkerSentry } from './services.ts';
import { reportFirstSpawn } from './spawn-watch.ts';

export class Runtime {
  #state: RuntimeState = 'waiting';
  #channel!: Channel;
  #worker: Worker | undefined;
  /** A stopping worker finishes its tasks when its class does (a SafeWorker) or its last pill asked (a recycle's, not the stop's). */
  #drainOnStop = false;
  #drainPill = false;
  /** The stop's pill asked a plain Worker to start the tasks waiting in its run queue before it abandons what runs. */
  #startWaiting = false;
  /** What a failure before ready fails: loading the module (and its top level), or `initialize()`. */
  #stage: 'load' | 'initialize' = 'load';
  /**
   * An error that escaped before `init` came (the watchdog thread refused, the module's top level):
   * the start fails with it once `init` comes. Not at once: the parent answers `hello` with `init`,
   * and a write to a process already gone broke the pipe and lost the report with it.
   */
  #earlyError: { readonly error: unknown } | undefined;
  #initReturned = false;
  /** Broadcasts received and not yet answered: a draining stop waits for them, as for its tasks. */
  #broadcasts = 0;
  #number = -1;
  #maxMessageBytes = 64 * 1024 * 1024;
  /** Exit after an error that escaped every task (the pool replaces the process). */
  restartOnError = true;
  #metrics: WorkerMetrics | undefined;
  #name = '';
  /** Sentry's helpers, once a pool with Sentry initialised them. */
  #sentry: WorkerSentry | undefined;
  /** Started by the entry before anything else; armed (blocked-loop detection) once ready. */
  readonly #watchdog: Pick<Watchdog, 'arm' | 'watching'> | undefined;

  /** The worker module, imported while the handshake runs (JavaScript modules only). */
  readonly #module = new WorkerModule();

  constructor(watchdog?: Pick<Watchdog, 'arm' | 'watching'>) {
    this.#watchdog = watchdog;
  }

  /** Tasks in flight by id: an {@link IdTable}, not a `Map` (why: internal/id-table.ts). */
  readonly #tasks = new IdTable<RuntimeTaskContext>();
  readonly #emit = (value: unknown, taskId: number | null): void => this.#sendResult(value, taskId);
  readonly #settler: TaskSettler = { done: (ctx, value) => this.#done(ctx, value), fail: (ctx, err) => this.#fail(ctx, err) };
  /** Tasks received but not started: CPU-bound tasks wait there for the next loop turn (see run-queue.ts). */
  readonly #runQueue = new RunQueue<RuntimeTaskContext>({
    start: (ctx, payload) => this.#start(ctx, payload),
    isLive: (ctx) => this.#tasks.get(ctx.id) === ctx && this.#mayRun(),
    hold: (held) => this.#channel.hold(held),
    flush: () => this.#channel.flush(),
    emptied: () => {
      if (this.#state === 'stopping' && this.#startWaiting) void this.#stop(); // a draining stop's pill waited for this
    },
  });

  /** Attach to the channel, open the handshake, and start importing the worker module: the import overlaps the handshake. */
  start(channel: Channel, moduleUrl: string | undefined): void {
    this.#channel = channel;
    channel.send({ kind: 'hello', protocol: PROTOCOL, pid: process.pid });
    // Now, not at the loop's first check phase: the module's import (preload) may run for ms by then, and init waits on this.
    channel.flush();
    this.#module.preload(moduleUrl);
    reportFirstSpawn(() => {
      channel.sendJson('{"kind":"spawned"}', 'free');
      channel.flush(); // at once, even while answers are held: until the parent has it, its death would leave the process
    });
  }

  /** Handle one raw message from the parent. */
  receive = (raw: unknown): void => {
    let message: ToChildMessage;
    try {
      message = parseToChild(raw);
    } catch (err) {
      reportUncaught(this.#channel, err, 'uncaughtException');
      this.exit(70);
      return;
    }
    this.#dispatch(message);
  };

  #dispatch(message: ToChildMessage): void {
    if (Array.isArray(message)) {
      this.#runTask(message[1], message[2], message[3]);
      return;
    }
    switch (message.kind) {
      case 'abort': {
        const ctx = this.#tasks.get(message.id);
        if (!ctx) return;
        const reason = message.reason === 'timeout' ? new DOMException('The task timed out', 'TimeoutError') : new DOMException('The task was aborted', 'AbortError');
        // A task still waiting for its turn fails now, without running.
        if (ctx.started) ctx.abort(reason);
        else this.#fail(ctx, reason);
        return;
      }
      case 'reclaim':
        this.#channel.sendJson(`{"kind":"reclaimed","ids":[${this.#handBack(message.idle, message.keep).join(',')}]}`, true);
        this.#channel.flush();
        return;
      case 'ping':
        this.#channel.sendJson(`{"kind":"pong","id":${message.id}}`, 'free');
        this.#channel.flush(); // now, even while answers are held (see run-queue.ts)
        return;
      case 'broadcast':
        this.#broadcasts++;
        // Once dispose() has begun the worker is gone for the pool: it answers undefined, as if it had exited.
        void answerBroadcast(this.#channel, this.#state === 'running' || this.#state === 'stopping' ? this.#worker : undefined, message.id, message.value, this.#maxMessageBytes).finally(() => {
          this.#broadcasts--;
          this.#afterSettle();
        });
        return;
      case 'poisonPill':
        this.#drainPill = message.drain;
        this.#startWaiting = message.startWaiting;
        void this.#stop();
        return;
      case 'init':
        void this.#init(message);
        return;
      default:
        assertNever(message);
    }
  }

  async #init(message: InitMessage): Promise<void> {
    if (this.#state !== 'waiting') return;
    this.#state = 'initializing';
    this.#number = message.worker;
    this.#maxMessageBytes = message.maxMessageBytes;
    this.restartOnError = message.restartOnError;
    this.#name = message.name;
    process.title = workerTitle(message.name, message.worker, message.instance);
    try {
      if (message.protocol !== PROTOCOL) throw new Error(`protocol mismatch: parent speaks ${message.protocol}, worker speaks ${PROTOCOL}`);
      if (this.#earlyError) throw this.#earlyError.error;
      ({ sentry: this.#sentry, metrics: this.#metrics } = await startServices(message, () => this.#channel.flush())); // a failed task's answer goes before its capture, held back or not
      const WorkerClass = await this.#module.load(message.module);
      await new Promise((resolve) => setImmediate(resolve)); // a rejection its top level left unhandled surfaces: it fails the load
      if (this.#state !== 'initializing') return;
      const worker = new WorkerClass();
      bindWorker(worker, { number: message.worker, name: message.name, workerData: message.value, putResult: this.#emit });
      this.#drainOnStop = WorkerClass.drainOnStop === true;
      this.#stage = 'initialize';
      // this.putResult works once initialize() has returned, before ready: the watchdog's start and a loop turn come between.
      const initialized = initializeWorker(worker, () => (this.#initReturned = true));
      await Promise.all([initialized, this.#watchdog?.watching]); // a block right after ready is seen
      await new Promise((resolve) => setImmediate(resolve)); // one initialize() left: it fails the start, not the first tasks
      if (this.#state !== 'initializing') return;
      this.#worker = worker;
      this.#state = 'running';
      this.#channel.send({ kind: 'ready' });
      this.#channel.flush();
      this.#watchdog?.arm(); // blocked-loop detection from now on: the start-up is not reported
    } catch (err) {
      this.#channel.send({ kind: 'initFailed', error: serializeError(err), stage: this.#stage });
      this.exit(1);
    }
  }

  #runTask(id: number, attempt: number, payload: unknown): void {
    if (!this.#worker || this.#state !== 'running') return; // the parent never sends tasks before ready or after the pill
    const ctx = new RuntimeTaskContext(id, attempt, this.#emit);
    this.#tasks.set(ctx.id, ctx);
    this.#metrics?.tasks.started();
    this.#runQueue.submit(ctx, payload);
  }

  /** Tasks may start: running, or draining before a stop (a SafeWorker's, any worker's for a recycle, or a plain Worker's waiting tasks for a draining stop). */
  #mayRun(): boolean {
    return this.#state === 'running' || (this.#state === 'stopping' && (this.#drainOnStop || this.#drainPill || this.#startWaiting));
  }

  /** The ids of the waiting tasks handed back for `idle` idle workers: while running, or draining for a recycle (none once it stops). */
  #handBack(idle: number, keep: number[]): number[] {
    const ids = this.#state === 'running' || (this.#state === 'stopping' && this.#drainPill) ? handBack(this.#runQueue, this.#tasks, idle, keep) : [];
    this.#metrics?.tasks.handedBack(ids.length);
    return ids;
  }

  #start(ctx: RuntimeTaskContext, payload: unknown): void {
    ctx.markStarted();
    callProcessMessage(this.#worker as Worker, payload, ctx, this.#settler);
  }

  #done(ctx: RuntimeTaskContext, value: unknown): void {
    if (!this.#settle(ctx, true)) return;
    sendDone(this.#channel, ctx.id, value, this.#maxMessageBytes);
    this.#afterSettle();
  }

  #fail(ctx: RuntimeTaskContext, err: unknown): void {
    if (!this.#settle(ctx, false)) return;
    this.#channel.send({ kind: 'taskFailed', id: ctx.id, error: serializeError(err) }, true);
    // After the answer: Sentry's capture runs in a later loop turn (sentry/capture-queue.ts).
    if (!ctx.aborted) this.#sentry?.taskError(err, { pool: this.#name, worker: this.#number, pid: process.pid, taskId: ctx.id, attempt: ctx.attempt });
    this.#afterSettle();
  }

  /** Forget the task; false when its answer must not be sent (a plain Worker already stopped). */
  #settle(ctx: RuntimeTaskContext, ok: boolean): boolean {
    if (!this.#tasks.delete(ctx.id)) return false;
    ctx.end(ok ? 'done' : 'failed');
    this.#metrics?.tasks.settled(ok);
    return this.#mayRun();
  }

  #afterSettle(): void {
    if (this.#state === 'stopping' && this.#tasks.size === 0 && this.#broadcasts === 0) void this.#finishStop();
  }

  /**
   * Results go out from the end of initialize() until dispose() begins: while running, and while
   * stopping (a SafeWorker's drain; a plain Worker's abort listeners). Outside that, and for a
   * task that has ended (task-context.ts), the caller gets an error rather than a silent drop.
   */
  #sendResult(value: unknown, taskId: number | null): void {
    if (this.#state !== 'running' && this.#state !== 'stopping' && !(this.#state === 'initializing' && this.#initReturned)) {
      throw new ResultClosedError(taskId, `worker ${this.#number} ${NOT_DELIVERING[this.#state]}; results are delivered from the end of initialize() until dispose() begins`);
    }
    // Bad results are a programming error in the worker: throw to the caller of putResult.
    const encoded = encodePayload(value, 'result', this.#maxMessageBytes);
    this.#channel.sendWithValue(`{"kind":"result","task":${taskId}}`, encoded);
  }

  /** The pill; again when the stop's pill follows a recycle's, so that a plain Worker stops at once. */
  async #stop(): Promise<void> {
    if (this.#state !== 'running' && this.#state !== 'initializing' && this.#state !== 'stopping') return;
    this.#state = 'stopping';
    if ((this.#drainOnStop || this.#drainPill) && (this.#tasks.size > 0 || this.#broadcasts > 0)) return; // #afterSettle finishes the stop
    // A draining stop: the tasks sent here and not started yet are the drained queue's, as if
    // still in the parent; they start first (the run queue's `emptied` calls this again).
    if (this.#startWaiting && this.#runQueue.length > 0) return;
    const abandoned = abandonTasks(this.#tasks, this.#runQueue, new WorkerStoppedError({ worker: this.#number, pid: process.pid }));
    this.#metrics?.tasks.abandoned(abandoned); // not as its argument: `?.` would skip abandonTasks() without metrics
    await this.#finishStop();
  }

  async #finishStop(): Promise<void> {
    if (this.#state !== 'stopping') return;
    this.#state = 'disposing';
    await disposeWorker(this.#channel, this.#worker, (err) => this.#sentry?.uncaught(err, 'dispose', { pool: this.#name, worker: this.#number, pid: process.pid }));
    await this.#metrics?.close(1000); // the last report goes out before exit (metrics sent on 'exit' are lost)
    this.exit(0);
  }

  /** An error escaped every task: report it (before ready: as a failed start), then exit if the pool asked for restarts. */
  onEscapedError(err: unknown, origin: EscapeOrigin): void {
    if (this.#state === 'waiting') {
      this.#earlyError ??= { error: err }; // reported when init comes (see #earlyError)
      return;
    }
    const starting = this.#state === 'initializing';
    const stopping = this.#state === 'stopping' || this.#state === 'disposing'; // it goes on: exiting would skip dispose() and fail what it drains
    reportEscaped(this.#channel, err, origin, starting ? this.#stage : undefined, stopping);
    if (!starting) this.#sentry?.uncaught(err, origin, { pool: this.#name, worker: this.#number, pid: process.pid });
    if ((this.restartOnError && !stopping) || starting) this.exit(1);
  }

  /** Send the last metrics, flush Sentry's events and what is queued for the parent, then exit with `code`. */
  exit(code: number): void {
    if (this.#state === 'exiting') return;
    this.#state = 'exiting';
    exitProcess(code, this.#channel, this.#sentry, this.#metrics);
  }
}
