/**
 * Pool options: types with their defaults, and the one pure function that checks and resolves
 * them. Invalid options throw a `TypeError` (or `RangeError`) naming the option and the value;
 * the checks themselves, in the one wording of every option of the API, are internal/option-checks.ts.
 */
import type { StatsD } from 'hot-shots';
import { isStatsdClient, resolveStatsdOptions, type ResolvedStatsdOptions, type StatsdOptions } from './metrics/statsd.ts';
import { checkSentryOptions, resolveSentryConfig, type SentryConfig, type SentryOptions } from './sentry/config.ts';
import { encodePayload } from './transport/encode.ts';
import { cgroupCpuLimit } from './internal/cpu-limit.ts';
import { inheritedEnv, inheritedExecArgv } from './internal/exec-argv.ts';
import { MAX_MESSAGE_BYTES } from './protocol/messages.ts';
import { assertOptionsArgument, boolean, delayOption, integer, integerBetween, object, oneOf, poolName, readOptions, show, stringArray } from './internal/option-checks.ts';
import { assertWorkerFile, resolveWorkerUrl } from './internal/worker-file.ts';

// For bullmq/, whose options are checked the same way and which imports options.ts, not internal/.
export { assertOptionsArgument, delayOption, object, readOptions, show };

/** How the parent picks a worker for the next task. */
export type DispatchPolicy = 'least-busy' | 'round-robin';

export interface PoolOptions {
  /**
   * The worker module: a file path (relative paths resolve against the current directory; package
   * names are not looked up) or an absolute `file:` URL, of an existing file (checked by the
   * constructor): `.ts`, `.mts`, `.tsx`, `.js`, `.mjs`, or CommonJS `.cjs`, `.cts`. Its default
   * export is a `Worker` subclass or a task function. This is code execution: never take it from
   * untrusted input.
   */
  worker: string | URL;
  /** Worker processes, from 1 to {@link MAX_POOL_SIZE}. @default os.availableParallelism(), or fewer when the process's cgroup has a CPU quota (a container's --cpus), at most MAX_POOL_SIZE */
  size?: number | undefined;
  /** Tasks in flight per worker process at most (the dispatch credits). @default 100 */
  concurrency?: number | undefined;
  /**
   * Tasks the parent holds (not yet dispatched) before `put`/`run` wait and `putNowait` throws;
   * a task a worker can take at once is taken all the same, and goes out at once.
   * 0: none; a task is taken only once a worker has a free credit for it.
   * `Infinity`: no bound (0 is not unbounded, as Python's `Queue(maxsize=0)` is). @default 10000
   */
  maxQueue?: number | undefined;
  /** Used in process titles (`looppool <name> worker <n>`) and metric names; `[A-Za-z0-9_.-]`. @default 'pool' */
  name?: string | undefined;
  /** Handed to every worker as `this.workerData` (must be serialisable). @default undefined */
  workerData?: unknown;
  /**
   * `'least-busy'`: the worker with the fewest tasks in flight (ties rotate); `'round-robin'`:
   * workers take turns. Either way a task a busy worker handed back goes to the least busy of the
   * other workers with a free credit. @default 'least-busy'
   */
  dispatch?: DispatchPolicy | undefined;
  /**
   * Environment of the worker processes, as it is. @default process.env, without the inspector's
   * flags in `NODE_OPTIONS` (`--inspect*`, `--debug*`: every worker would try to bind the parent's port)
   */
  env?: NodeJS.ProcessEnv | undefined;
  /**
   * Node flags of the worker processes. @default process.execArgv without the inspector's flags
   * and those about the parent's own run (`-e`/`-p` and their script, `--input-type`, `-i`, `-c`,
   * the test runner's and watch mode's)
   */
  execArgv?: readonly string[] | undefined;
  /** Largest task, result or broadcast message, in bytes once encoded. @default 67108864 (64 MiB) */
  maxMessageBytes?: number | undefined;
  /**
   * Where the workers' stdout goes: `'inherit'` (the parent's stdout), `'stderr'` (the parent's
   * stderr: keeps stdout clean for data, as the CLI does) or `'ignore'`. stderr is always inherited.
   * @default 'inherit'
   */
  workerStdout?: 'inherit' | 'stderr' | 'ignore' | undefined;
  /** Milliseconds `stop()` waits before it kills the workers that are left, when not given to `stop`. @default 30000 */
  stopTimeout?: number | undefined;
  /**
   * Times a task whose worker process died is dispatched again, to the next worker free to take
   * it (the replacement of the same worker when it is the only one, or when the task was sent to
   * that worker by number; the task sees `ctx.attempt` > 1). 0: it rejects with `WorkerCrashedError`. A task that was running alone on
   * workers that died twice is failed anyway (`PoisonTaskError`). @default 0
   */
  retries?: number | undefined;
  /**
   * Milliseconds a task may run (from dispatch) before its `ctx.signal` is aborted; `run`/`put`
   * can override it per task. After `timeoutGrace` more, an unsettled task rejects with
   * `TaskTimeoutError`, and its worker is killed and replaced if its event loop is blocked.
   * @default undefined (no limit)
   */
  taskTimeout?: number | undefined;
  /**
   * Milliseconds between the soft (signal) and the hard (kill if blocked: no answer to a ping,
   * which gets at least 100 ms) limit of `taskTimeout`;
   * also how long a task its caller aborted has to end before a worker draining for a recycle,
   * holding only such tasks, is killed. @default 1000
   */
  timeoutGrace?: number | undefined;
  /**
   * Recycle a worker (drain, exit, replace) once it has been sent this many tasks: it takes no
   * more and finishes those it holds. @default Infinity
   */
  maxTasksPerWorker?: number | undefined;
  /** Recycle a worker whose resident memory (RSS, sampled every `memoryCheckInterval`) exceeds this many bytes. @default Infinity */
  maxMemoryPerWorker?: number | undefined;
  /** Milliseconds between RSS samples for `maxMemoryPerWorker`. @default 1000 */
  memoryCheckInterval?: number | undefined;
  /**
   * When an error escapes every task in a worker (uncaught exception, unhandled rejection), it is
   * always reported (`'workerError'` event, stderr); `true` also replaces the worker, whose state
   * may be broken. @default true
   */
  restartOnError?: boolean | undefined;
  /**
   * Milliseconds a worker process has, from its spawn, to load its module and finish
   * `initialize()`. One that is not ready by then is killed and counts as a failed start
   * (`WorkerInitError` with `stage: 'timeout'`): `start()` rejects with it, and a replacement is
   * retried with backoff like any failed start. `Infinity`: no limit. @default 60000
   */
  startTimeout?: number | undefined;
  /** Worker starts failing in a row (pool-wide) before the pool is unhealthy: respawning pauses and tasks fail fast with `PoolUnhealthyError`. @default 5 */
  maxStartFailures?: number | undefined;
  /** Milliseconds the pool waits, once unhealthy, before it tries to start workers again. @default 10000 */
  unhealthyCooldown?: number | undefined;
  /**
   * Report metrics to statsd: a hot-shots client, or its options (`{ host, port, prefix, globalTags,
   * protocol, telegraf, datadog, tags, maxBufferSize, mock }`, UDP by default). Every worker then
   * reports its CPU, memory, event loop and tasks, and the parent the pool (manual/monitoring.md).
   * @default undefined (no metrics)
   */
  statsd?: StatsD | StatsdOptions | undefined;
  /** Milliseconds between metric reports, in the parent and in every worker. @default 10000 */
  reportInterval?: number | undefined;
  /**
   * Report a worker's event loop blocked at least this many ms, with the stack of the code that
   * blocks it: a `'loopBlocked'` event (logged to stderr when nobody listens), a statsd counter,
   * a Sentry event. At least 50. @default undefined (off)
   */
  blockedLoopThreshold?: number | undefined;
  /**
   * Send errors to Sentry: `{ dsn, environment?, release? }`; each falls back to `SENTRY_DSN`,
   * `SENTRY_ENVIRONMENT`, `SENTRY_RELEASE`. `false` turns it off even when `SENTRY_DSN` is set.
   * The DSN reaches the workers over their private pipe, never in argv, titles, logs or metrics.
   * @default from the environment
   */
  sentry?: SentryOptions | false | undefined;
  /**
   * Open the local control channel: a Unix socket readable by this user only (0600, in a 0700
   * per-user directory) through which `looppool top` shows the queue, throughput and loop delay
   * and `looppool stop` stops the pool gracefully. @default false
   */
  control?: boolean | undefined;
}

export interface ResolvedPoolOptions {
  readonly workerUrl: string;
  readonly size: number;
  readonly concurrency: number;
  readonly maxQueue: number;
  readonly name: string;
  /**
   * The `workerData` option as `encodePayload` made it (JSON text, or V8's bytes): a snapshot
   * taken by the constructor, so changes to the object afterwards reach no worker.
   */
  readonly workerData: string | Buffer | undefined;
  readonly dispatch: DispatchPolicy;
  readonly env: NodeJS.ProcessEnv;
  readonly execArgv: readonly string[];
  readonly maxMessageBytes: number;
  readonly stopTimeout: number;
  readonly workerStdout: 'inherit' | 'stderr' | 'ignore';
  readonly retries: number;
  readonly taskTimeout: number | undefined;
  readonly timeoutGrace: number;
  readonly maxTasksPerWorker: number;
  readonly maxMemoryPerWorker: number;
  readonly memoryCheckInterval: number;
  readonly restartOnError: boolean;
  readonly startTimeout: number;
  readonly maxStartFailures: number;
  readonly unhealthyCooldown: number;
  readonly statsd: StatsD | ResolvedStatsdOptions | undefined;
  readonly reportInterval: number;
  readonly blockedLoopThreshold: number | undefined;
  readonly sentry: SentryConfig | undefined;
  readonly control: boolean;
}

/** The most worker processes a pool takes: a typo (`size: 100000`) forked until the machine stopped answering. */
export const MAX_POOL_SIZE = 1024;

/**
 * The shortest `blockedLoopThreshold`, in ms: the main thread beats every threshold / 4 ms, but
 * at most every 10 ms, so a shorter threshold took the gaps of an idle loop between two timers
 * for blocks (about 90 reports a second at 1 ms, with the stack of whatever timer ran next).
 */
export const MIN_BLOCKED_LOOP_THRESHOLD = 50;

export const DEFAULT_POOL_OPTIONS = Object.freeze({
  concurrency: 100,
  maxQueue: 10_000,
  name: 'pool',
  dispatch: 'least-busy' as DispatchPolicy,
  maxMessageBytes: 64 * 1024 * 1024,
  stopTimeout: 30_000,
  workerStdout: 'inherit' as 'inherit' | 'stderr' | 'ignore',
  retries: 0,
  timeoutGrace: 1000,
  maxTasksPerWorker: Infinity,
  maxMemoryPerWorker: Infinity,
  memoryCheckInterval: 1000,
  restartOnError: true,
  startTimeout: 60_000,
  maxStartFailures: 5,
  unhealthyCooldown: 10_000,
  reportInterval: 10_000,
});

/** Options whose value may be anything, null included: it is the application's. */
const ANY_VALUE: ReadonlySet<string> = new Set(['workerData']);

const KNOWN = new Set([
  'worker', 'size', 'concurrency', 'maxQueue', 'name', 'workerData', 'dispatch', 'env', 'execArgv',
  'maxMessageBytes', 'stopTimeout', 'workerStdout', 'retries', 'taskTimeout', 'timeoutGrace', 'maxTasksPerWorker',
  'maxMemoryPerWorker', 'memoryCheckInterval', 'restartOnError', 'startTimeout', 'maxStartFailures', 'unhealthyCooldown',
  'statsd', 'reportInterval', 'blockedLoopThreshold', 'sentry', 'control',
]);

/** One worker per CPU this process may use: its affinity mask, and its cgroup's CPU quota (which Node 20 does not read). */
function defaultSize(): number {
  return Math.min(process.getBuiltinModule('node:os').availableParallelism(), cgroupCpuLimit() ?? Infinity, MAX_POOL_SIZE);
}

/**
 * Check and complete pool options, each read once. Pure apart from reading defaults from `os`,
 * `process` and the cwd, and looking at the worker file (it must exist).
 */
export function resolvePoolOptions(options: PoolOptions): ResolvedPoolOptions {
  const input = readPoolOptions(options);
  const d = DEFAULT_POOL_OPTIONS;
  const name = poolName('name', input.name ?? d.name);
  // Encoded once here: a bad value fails the constructor, and every worker's init (replacements
  // too) carries these same bytes. `undefined` is not encoded: that would load node:v8 into every
  // pool's process (the init message leaves it out).
  const maxMessageBytes = messageBytes(input.maxMessageBytes ?? d.maxMessageBytes); // checked before workerData is measured against it
  const workerData = input.workerData === undefined ? undefined : encodePayload(input.workerData, 'workerData', maxMessageBytes);
  const resolved: ResolvedPoolOptions = {
    workerUrl: resolveWorkerUrl(input.worker),
    size: integerBetween('size', input.size ?? defaultSize(), 1, MAX_POOL_SIZE),
    concurrency: integer('concurrency', input.concurrency ?? d.concurrency, 1),
    maxQueue: integer('maxQueue', input.maxQueue ?? d.maxQueue, 0, true),
    name,
    workerData,
    dispatch: oneOf('dispatch', input.dispatch ?? d.dispatch, ['least-busy', 'round-robin']),
    env: input.env === undefined ? inheritedEnv() : environment(input.env), // process.env holds strings only: not walked at every new Pool()
    execArgv: stringArray('execArgv', input.execArgv ?? inheritedExecArgv()),
    maxMessageBytes,
    stopTimeout: delayOption('stopTimeout', input.stopTimeout ?? d.stopTimeout, 0, true),
    workerStdout: oneOf('workerStdout', input.workerStdout ?? d.workerStdout, ['inherit', 'stderr', 'ignore']),
    retries: integer('retries', input.retries ?? d.retries, 0),
    taskTimeout: input.taskTimeout === undefined ? undefined : delayOption('taskTimeout', input.taskTimeout, 1),
    timeoutGrace: delayOption('timeoutGrace', input.timeoutGrace ?? d.timeoutGrace, 0),
    maxTasksPerWorker: integer('maxTasksPerWorker', input.maxTasksPerWorker ?? d.maxTasksPerWorker, 1, true),
    maxMemoryPerWorker: integer('maxMemoryPerWorker', input.maxMemoryPerWorker ?? d.maxMemoryPerWorker, 1, true),
    memoryCheckInterval: delayOption('memoryCheckInterval', input.memoryCheckInterval ?? d.memoryCheckInterval, 10),
    restartOnError: boolean('restartOnError', input.restartOnError ?? d.restartOnError),
    startTimeout: delayOption('startTimeout', input.startTimeout ?? d.startTimeout, 1, true),
    maxStartFailures: integer('maxStartFailures', input.maxStartFailures ?? d.maxStartFailures, 1),
    unhealthyCooldown: delayOption('unhealthyCooldown', input.unhealthyCooldown ?? d.unhealthyCooldown, 0),
    statsd: input.statsd === undefined ? undefined : isStatsdClient(input.statsd) ? input.statsd : resolveStatsdOptions(input.statsd),
    reportInterval: delayOption('reportInterval', input.reportInterval ?? d.reportInterval, 1),
    blockedLoopThreshold: input.blockedLoopThreshold === undefined ? undefined : delayOption('blockedLoopThreshold', input.blockedLoopThreshold, MIN_BLOCKED_LOOP_THRESHOLD),
    control: boolean('control', input.control ?? false),
    sentry: input.sentry === false ? undefined : resolveSentryConfig(input.sentry === undefined ? undefined : checkSentryOptions(input.sentry)),
  };
  assertWorkerFile(resolved.workerUrl, input.worker); // last: the one check that looks at the disk
  return resolved;
}

/**
 * The options of `input`, an object whose every key is an option `Pool` knows, each read once:
 * a getter that returns another value at every read cannot pass the checks with one value and
 * be used with another.
 */
function readPoolOptions(input: PoolOptions): PoolOptions {
  assertOptionsArgument(input);
  return readOptions(input, KNOWN, '', '', ANY_VALUE) as unknown as PoolOptions;
}

/** `env`: an object of strings (a variable set to undefined is left out of the workers' environment). */
function environment(value: unknown): NodeJS.ProcessEnv {
  const env = object('env', value) as Record<string, unknown>;
  for (const [key, v] of Object.entries(env)) {
    // What an environment block cannot hold: spawn() refused it in each worker, or took `A=B: x` for `A: B=x`.
    if (key === '' || key.includes('=') || key.includes('\0')) throw new TypeError(`Expected the names in \`env\` to be non-empty, without '=' or NUL, got ${show(key)}`);
    if (v !== undefined && (typeof v !== 'string' || v.includes('\0'))) throw new TypeError(`Expected \`env.${key}\` to be a string without NUL characters, or undefined, got ${show(v)}`);
  }
  return env as NodeJS.ProcessEnv;
}

/** `maxMessageBytes`: from 1 KiB to 1 GiB (what a worker reads before it knows the pool's limit). */
function messageBytes(value: unknown): number {
  if (Number.isSafeInteger(value) && (value as number) >= 1024 && (value as number) <= MAX_MESSAGE_BYTES) return value as number;
  throw new TypeError(`Expected \`maxMessageBytes\` to be an integer from 1024 to ${MAX_MESSAGE_BYTES}, got ${show(value)}`);
}
