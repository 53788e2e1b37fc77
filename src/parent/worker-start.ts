/**
 * A worker's start, seen from the parent: the `init` it is sent when it says hello, the
 * `startTimeout` it must be ready within (or it is killed), and the WorkerInitError that says
 * why a start failed. Its handle (worker-handle.ts) reads the worker's messages and keeps its
 * state; this keeps what only the start needs.
 */
import type { WorkerInitError } from '../errors.ts';
import type { ResolvedPoolOptions } from '../options.ts';
import type { Channel } from '../transport/channel.ts';
import type { ExitReason, HandleState, WorkerInitExtras } from './handle-events.ts';
import { initMessageText } from './init-message.ts';
import { startFailure } from './start-failure.ts';

/** What the start reads of its handle, and how it fails the start. */
export interface StartingWorker {
  readonly number: number;
  readonly pid: number;
  readonly state: HandleState;
  initError: WorkerInitError | undefined;
  /** Killed, or exiting after an error escaped its tasks. */
  readonly dying: boolean;
  kill(reason: ExitReason): void;
}

export class WorkerStart {
  readonly #worker: StartingWorker;
  readonly #channel: Channel;
  readonly #options: ResolvedPoolOptions;
  readonly #initExtras: WorkerInitExtras;
  /** It said hello: looppool's worker code ran in it. */
  #greeted = false;
  /** Kills it if it is not ready within `startTimeout`. */
  #startTimer: NodeJS.Timeout | undefined;

  constructor(worker: StartingWorker, channel: Channel, options: ResolvedPoolOptions, initExtras: WorkerInitExtras) {
    this.#worker = worker;
    this.#channel = channel;
    this.#options = options;
    this.#initExtras = initExtras;
    // Checked after the next poll of the loop's I/O: a `ready` already in the pipe, unread while the parent was busy, counts.
    if (options.startTimeout !== Infinity) this.#startTimer = setTimeout(() => setImmediate(() => this.#startTimedOut()), options.startTimeout).unref();
  }

  /** It said hello, in the pool's protocol: send it its init. */
  sendInit(): void {
    this.#greeted = true;
    // Plain data but for workerData, which the pool encoded once for every worker. Without it the
    // field is left out: an init that needed V8's serializer would load node:v8 into every worker.
    this.#channel.sendWithValue(initMessageText(this.#worker.number, this.#options, this.#initExtras), this.#options.workerData);
    this.#channel.flush(); // the worker's start waits on it: not on the next check phase
  }

  /** It is ready, or its process is gone: the start timeout no longer applies. */
  end(): void {
    clearTimeout(this.#startTimer);
  }

  /** The WorkerInitError of a start that failed at `stage` for `reason`. */
  failure(reason: unknown, stage: WorkerInitError['stage']): WorkerInitError {
    return startFailure(this.#worker.number, this.#worker.pid, this.#options.workerUrl, reason, stage);
  }

  /** The WorkerInitError of a process that ended (exit `code`, or `signal`) before it was ready. */
  exitedBeforeReady(code: number | null, signal: NodeJS.Signals | null): WorkerInitError {
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    // Gone before looppool's code said a word: Node did something else (execArgv's --eval,
    // --version or --check, a flag it refused, a NODE_OPTIONS in env), and said so on stderr.
    const before = this.#greeted || signal ? '' : "; it never ran the worker's code: Node's own message, if any, is on stderr (look at execArgv and the NODE_OPTIONS of env)";
    return this.failure(new Error(`the process exited before it was ready (${how})${before}`), 'exit');
  }

  /** Not ready within `startTimeout`: a failed start (the pool's backoff applies), and the process goes. */
  #startTimedOut(): void {
    const worker = this.#worker;
    if (worker.state !== 'starting' || worker.initError || worker.dying) return; // killed already (a stop), or an initFailed on its way out
    const limit = this.#options.startTimeout;
    worker.initError = this.failure(new Error(`it was not ready within startTimeout (${limit} ms): its module or initialize() did not finish`), 'timeout');
    worker.kill('timeout');
  }
}
