/**
 * One worker process seen from the parent: handshake (worker-start.ts keeps what only the start
 * needs), the tasks it holds, and its exit.
 * Every message from the child is parsed at this boundary; a child that breaks the protocol,
 * or answers for a task it does not hold, is killed.
 */
import type { ChildProcess } from 'node:child_process';
import { ProtocolError, type WorkerInitError } from '../errors.ts';
import { assertNever } from '../internal/assert.ts';
import { FRAME_SLACK, PROTOCOL, type ToParentMessage } from '../protocol/messages.ts';
import { MessageShapeError, parseToParent } from '../protocol/parse.ts';
import { deserializeError } from '../protocol/deserialize-error.ts';
import type { SerializedError } from '../protocol/serialized-error.ts';
import { Channel } from '../transport/channel.ts';
import type { ResolvedPoolOptions } from '../options.ts';
import type { WorkerSlot } from './dispatcher.ts';
import { HeldTasks, type TaskLink } from './held-tasks.ts';
import { watchGroup } from './group-sentinel.ts';
import { killWorkerGroup } from './process-group.ts';
import { spawnWorker } from './spawn.ts';
import { readWatchdogPipe } from './watchdog-pipe.ts';
import type { PendingTask } from './task.ts';
import { WorkerStart } from './worker-start.ts';
import type { ExitReason, HandleEvents as Events, HandleState, WorkerInitExtras } from './handle-events.ts';

export type { ExitReason, HandleState, WorkerInitExtras };
/** What a handle reports to its pool. */
export type HandleEvents = Events<WorkerHandle>;

export class WorkerHandle implements WorkerSlot {
  readonly number: number;
  readonly pid: number;
  state: HandleState = 'starting';
  /** Why it failed to start, once known (it never was ready when this is set). */
  initError: WorkerInitError | undefined;
  /** The error it is ending for: one that escaped its tasks (`restartOnError`), its ProtocolError, a hard timeout's TaskTimeoutError. The crash of its other tasks has it as `cause`. */
  exitCause: Error | undefined;
  /** The tasks it holds: sending, aborting and reclaiming them, and its task counts. */
  readonly tasks: TaskLink;
  readonly #held: HeldTasks;
  readonly #options: ResolvedPoolOptions;
  readonly #events: HandleEvents;
  /** Undefined when spawn() threw. */
  readonly #child: ChildProcess | undefined;
  readonly #channel: Channel;
  /** Its init, its start timeout, why its start failed (worker-start.ts). */
  readonly #start: WorkerStart;
  /** Set by a kill or an escaped error; a poison pill's reason counts only for a clean exit. */
  #exitReason: ExitReason | undefined;
  #pill: 'stop' | 'recycle' | undefined;
  #exitedCleanly = false;
  /** It said it is done with its tasks after the pill (`stopped`): only then is an exit 0 its stop's, not a task's process.exit(0). */
  #saidStopped = false;
  #nextPing = 1;
  #lastPong = 0;
  /** Reads of its data pipe so far (a blocked loop writes nothing). */
  #reads = 0;

  constructor(number: number, options: ResolvedPoolOptions, events: HandleEvents, initExtras: WorkerInitExtras = {}) {
    this.number = number;
    this.#options = options;
    this.#events = events;
    const spawned = spawnWorker(options, number, initExtras.instance);
    this.#child = spawned.child;
    this.pid = spawned.pid;
    this.#channel = new Channel(spawned.data, options.maxMessageBytes + FRAME_SLACK, {
      message: (raw) => this.#receive(raw),
      readEnd: () => {
        this.#reads++;
        if (this.tasks.size === 0 && this.state === 'ready') this.#events.idle(this);
      },
      corrupt: (err) => this.#protocolError(err.message),
      close: () => {},
    });
    this.#held = new HeldTasks(number, this.#channel);
    this.tasks = this.#held;
    if (spawned.reports) readWatchdogPipe(spawned.reports, (report) => this.#events.loopBlocked(this, report, this.#quiet()), (detail) => this.#protocolError(detail));
    const child = this.#child;
    if (child) {
      child.on('error', (error) => this.#onProcessError(child, error));
      // 'close', not 'exit': it comes after the data pipe is drained, so no answer sent before exit is lost.
      child.once('close', (code, signal) => this.#onExit(code, signal));
    } else {
      // After the constructor, as a process that could not start reports: the pool has this handle by then.
      process.nextTick(() => {
        this.initError = this.#start.failure(spawned.thrown, 'spawn');
        this.#onExit(null, null);
      });
    }
    this.#start = new WorkerStart(this, this.#channel, options, initExtras);
  }

  /** The poison pill it was sent, if any: for the pool's stop, or for a recycle (it drains its tasks, then exits). */
  get pill(): 'stop' | 'recycle' | undefined {
    return this.#pill;
  }

  get recycling(): boolean {
    return this.#pill === 'recycle';
  }

  get inFlight(): number {
    return this.tasks.size;
  }

  get accepting(): boolean {
    return this.state === 'ready';
  }

  /** Killed, or exiting after an error escaped its tasks: whatever it holds, it will answer nothing new. */
  get dying(): boolean {
    return this.#exitReason !== undefined;
  }

  /**
   * Ask whether the child's event loop turns: the returned check is true once the child has
   * answered (this or a later ping).
   */
  ping(): () => boolean {
    const id = this.#nextPing++;
    this.#channel.sendJson(`{"kind":"ping","id":${id}}`, 'free'); // passes big messages queued before it: they say nothing of the loop
    this.#channel.flush(); // now: not once the parent's code running now is done, which may be long
    return () => this.#lastPong >= id;
  }

  /** `encoded`: the message as `encodePayload` made it, once for every worker. */
  sendBroadcast(id: number, encoded: string | Buffer): void {
    this.#channel.sendWithValue(`{"kind":"broadcast","id":${id}}`, encoded);
  }

  /**
   * Send the poison pill; the handle takes no more tasks. `reason` 'recycle' makes every
   * worker drain its tasks first (a plain Worker too). The stop's pill still reaches a worker
   * draining for a recycle: a plain Worker then stops at once, as every plain Worker does at a
   * stop, and a SafeWorker goes on draining. `startWaiting` (a draining stop): a plain Worker
   * first starts the tasks it was sent and has not started (its share of the queue the stop
   * drains), and abandons only what still runs then.
   */
  poisonPill(reason: 'stop' | 'recycle' = 'stop', startWaiting = false): void {
    if (this.state === 'exited') return;
    if (this.#pill !== undefined) {
      if (reason === 'stop' && this.#pill === 'recycle' && this.state === 'stopping') {
        this.#pill = 'stop';
        this.#channel.sendJson(`{"kind":"poisonPill","drain":false,"startWaiting":${startWaiting}}`);
      }
      return;
    }
    this.#pill = reason;
    if (this.state === 'starting') {
      this.kill(reason); // nothing to drain: do not wait for a slow initialize()
      return;
    }
    this.state = 'stopping';
    this.#channel.sendJson(`{"kind":"poisonPill","drain":${reason === 'recycle'},"startWaiting":${startWaiting}}`);
  }

  /**
   * Why the process ended (or will): set by whoever asked it to go; `crash` when nobody did. A
   * worker sent the pill (for the stop, or a recycle) that dies meanwhile (an exit code, a
   * signal), or is killed (a hard timeout, a protocol breach), did not end for the pill.
   */
  get exitReason(): ExitReason {
    return this.#exitReason ?? (this.#pill !== undefined && this.#exitedCleanly ? this.#pill : 'crash');
  }

  /** SIGKILL the process, recording why. */
  kill(reason: ExitReason): void {
    if (this.state === 'exited') return;
    if (this.state === 'ready') this.state = 'stopping'; // dying: no new task may go to it (its slot's replacement takes them)
    this.#exitReason ??= reason;
    if (this.#child) killWorkerGroup(this.#child); // with what it started (process-group.ts)
  }

  #receive(raw: unknown): void {
    let message: ToParentMessage;
    try {
      message = parseToParent(raw);
    } catch (err) {
      if (err instanceof MessageShapeError) return this.#protocolError(err.message);
      throw err;
    }
    this.#handle(message);
  }

  #handle(m: ToParentMessage): void {
    if (Array.isArray(m)) {
      const task = this.#take(m[1]);
      if (task) this.#events.taskDone(this, task, m[2]);
      return;
    }
    switch (m.kind) {
      case 'taskFailed': {
        const error = deserializeError(m.error); // before the task leaves the list: should it throw, the crash settles the task
        const task = this.#take(m.id);
        if (task) this.#events.taskFailed(this, task, error, m.unsendable === true);
        return;
      }
      case 'result':
        if (m.task !== null && !this.#held.has(m.task)) return this.#protocolError(`result for task ${m.task}, which it does not hold`);
        return this.#events.result(this, m.task, m.value);
      case 'hello':
        return this.#onHello(m.protocol);
      case 'ready':
        return this.#onReady();
      case 'initFailed':
        return this.#onInitFailed(m.error, m.stage);
      case 'broadcastDone':
        return this.#events.broadcastReply(this, m.id, { value: m.value });
      case 'broadcastFailed':
        return this.#events.broadcastReply(this, m.id, { error: deserializeError(m.error), unsendable: m.unsendable === true });
      case 'uncaught':
        if (this.#options.restartOnError && m.origin !== 'dispose' && m.stopping !== true) { // during its stop (dispose() too) the stop goes on as asked
          this.#exitReason ??= 'error';
          if (this.state === 'ready') this.state = 'stopping'; // it exits now: no new task may go to it
          return this.#events.uncaught(this, (this.exitCause ??= deserializeError(m.error)), m.origin);
        }
        return this.#events.uncaught(this, deserializeError(m.error), m.origin);
      case 'pong':
        this.#lastPong = Math.max(this.#lastPong, m.id);
        return;
      case 'reclaimed':
        return this.#onReclaimed(m.ids);
      case 'spawned': // not once reaped: its group id may be another's by then
        if (this.#child?.exitCode === null && this.#child.signalCode === null) watchGroup(this.pid);
        return;
      case 'stopped':
        this.#saidStopped = true;
        return this.#events.disposing(this);
      default:
        assertNever(m, 'message');
    }
  }

  /** True until the data pipe is read again. */
  #quiet(): () => boolean {
    const reads = this.#reads;
    return () => this.#reads === reads;
  }

  #onReady(): void {
    if (this.state !== 'starting') return this.#protocolError('ready twice');
    if (this.#exitReason !== undefined) return; // killed while it started (a start timeout, a stop): it is not ready, it goes
    this.#start.end();
    this.state = 'ready';
    this.#events.ready(this);
  }

  #onInitFailed(error: SerializedError, stage: 'load' | 'initialize'): void {
    if (this.state !== 'starting') return this.#protocolError('initFailed once started');
    this.initError = this.#start.failure(deserializeError(error), stage);
  }

  #onHello(protocol: string): void {
    if (protocol !== PROTOCOL) return this.#protocolError(`protocol ${protocol}, expected ${PROTOCOL}`);
    this.#start.sendInit();
  }

  #onReclaimed(ids: number[]): void {
    const tasks = this.#held.handBack(ids);
    if (typeof tasks === 'string') return this.#protocolError(tasks);
    this.#events.reclaimed(this, tasks);
  }

  #take(id: number): PendingTask | undefined {
    const task = this.#held.take(id);
    if (task === undefined) this.#protocolError(`answer for task ${id}, which it does not hold`);
    return task;
  }

  #protocolError(detail: string): void {
    const error = new ProtocolError(`Worker ${this.number} (pid ${this.pid}) broke the protocol: ${detail}`, { worker: this.number, pid: this.pid });
    this.exitCause ??= error;
    this.#events.uncaught(this, error, 'protocol');
    this.#channel.destroy();
    this.kill('protocol');
  }

  /** The process did not start (no pid; 'close' follows), or could not be sent a signal (it is killed: 'close' reports it). */
  #onProcessError(child: ChildProcess, error: Error): void {
    if (this.pid === -1) this.initError ??= this.#start.failure(error, 'spawn');
    else child.kill('SIGKILL');
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.#start.end();
    const wasStarting = this.state === 'starting';
    this.state = 'exited';
    this.#exitedCleanly = code === 0 && signal === null && this.#saidStopped;
    this.#channel.destroy();
    if (wasStarting && !this.initError) this.initError = this.#start.exitedBeforeReady(code, signal);
    this.#events.exit(this, code, signal, this.#held.release());
  }
}
