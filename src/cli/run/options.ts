/**
 * `looppool run` flags → pool options and the command's own settings. Each flag maps to one
 * Pool option and is passed only when given, so options the installed Pool does not know are
 * never sent unasked.
 */
import { MAX_DELAY_MS, MAX_POOL_SIZE, MIN_BLOCKED_LOOP_THRESHOLD, type PoolOptions } from '../../index.ts';
import { UsageError } from '../exit-codes.ts';
import { parseBytes } from '../format.ts';
import { decodeJson, type InputMode } from './decode-line.ts';
import { checkSummaryFile } from './summary-file.ts';
import { checkOutputNotWorker, defaultPoolName, resolveWorkerModule } from './worker-module.ts';

/** Flags as commander hands them over. */
export interface RunFlags {
  input?: string;
  output?: string;
  lines?: boolean;
  ordered?: boolean;
  size?: string;
  concurrency?: string;
  name?: string;
  workerData?: string;
  timeout?: string;
  retries?: string;
  maxTasksPerWorker?: string;
  maxMemoryPerWorker?: string;
  statsd?: string;
  statsdPrefix?: string;
  reportInterval?: string;
  sentryDsn?: string;
  blockedThreshold?: string;
  stopTimeout?: string;
  startTimeout?: string;
  maxLineBytes?: string;
  quiet?: boolean;
  jsonSummary?: string;
  control?: boolean;
  /** `--bullmq <queue>` and its companions: consume a BullMQ queue instead of reading lines (src/cli/bullmq/). */
  bullmq?: string;
  redis?: string;
  jobMetadata?: string;
  lockDuration?: string;
  stalledInterval?: string;
  maxStalledCount?: string;
  removeOnComplete?: string;
  removeOnFail?: string;
  maxJobs?: string;
}

export interface RunConfig {
  /** Absolute path of the worker module. */
  readonly workerPath: string;
  readonly name: string;
  readonly pool: PoolOptions;
  readonly input: string | undefined;
  readonly output: string | undefined;
  readonly mode: InputMode;
  readonly ordered: boolean;
  readonly maxLineBytes: number;
  readonly quiet: boolean;
  /** File for the JSON summary, `-` for stderr. */
  readonly jsonSummary: string | undefined;
  readonly control: boolean;
  /** Values never to print (the Sentry DSN). */
  readonly secrets: readonly string[];
}

export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;
/** A line's JSON can grow up to ~4.4× when re-encoded (`1e20` → 21 digits); this keeps it under the pool's 64 MiB message limit. */
export const MAX_MAX_LINE_BYTES = 12 * 1024 * 1024;

/** Check the flags (and that --json-summary can be written) and build the run's configuration. @throws {UsageError} */
export function runConfig(moduleArg: string, flags: RunFlags, cwd: string, env: NodeJS.ProcessEnv = process.env): RunConfig {
  const workerPath = resolveWorkerModule(moduleArg, cwd);
  checkOutputNotWorker(flags.output, cwd, workerPath);
  const name = flags.name ?? defaultPoolName(workerPath);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new UsageError(`--name must be 1-64 characters of A-Z a-z 0-9 _ . -, got ${JSON.stringify(name)}`);
  const pool: PoolOptions = { worker: workerPath, name, workerStdout: 'stderr' };
  const set = (key: string, value: unknown): void => {
    if (value !== undefined) (pool as unknown as Record<string, unknown>)[key] = value;
  };
  set('size', integer('--size', flags.size, 1, MAX_POOL_SIZE));
  set('concurrency', integer('--concurrency', flags.concurrency, 1));
  set('stopTimeout', milliseconds('--stop-timeout', flags.stopTimeout, 0));
  set('startTimeout', flags.startTimeout === 'Infinity' ? Infinity : milliseconds('--start-timeout', flags.startTimeout, 1));
  if (flags.workerData !== undefined) set('workerData', workerData(flags.workerData));
  // Options of the reliability and monitoring work: passed only when their flag is given.
  set('taskTimeout', milliseconds('--timeout', flags.timeout, 1));
  set('retries', integer('--retries', flags.retries, 0));
  set('maxTasksPerWorker', integer('--max-tasks-per-worker', flags.maxTasksPerWorker, 1));
  set('maxMemoryPerWorker', bytes('--max-memory-per-worker', flags.maxMemoryPerWorker));
  set('reportInterval', milliseconds('--report-interval', flags.reportInterval, 1));
  set('blockedLoopThreshold', milliseconds('--blocked-threshold', flags.blockedThreshold, MIN_BLOCKED_LOOP_THRESHOLD));
  set('statsd', statsd(flags.statsd, flags.statsdPrefix));
  if (flags.sentryDsn !== undefined) {
    if (flags.sentryDsn.trim() === '') throw new UsageError('--sentry-dsn is empty');
    set('sentry', { dsn: flags.sentryDsn });
  }
  const maxLineBytes = maxLineBytesFlag(flags.maxLineBytes);
  checkSummaryFile(flags.jsonSummary, cwd, { worker: workerPath, output: flags.output });
  return {
    workerPath,
    name,
    pool,
    input: flags.input,
    output: flags.output,
    mode: flags.lines ? 'lines' : 'json',
    ordered: flags.ordered === true,
    maxLineBytes,
    quiet: flags.quiet === true,
    jsonSummary: flags.jsonSummary,
    control: flags.control !== false,
    secrets: [flags.sentryDsn, env.SENTRY_DSN].filter((s): s is string => typeof s === 'string' && s.length >= 8),
  };
}

/** `--max-line-bytes`: from 1 byte to 12 MiB, 1 MiB when not given (`run` and `enqueue`). @throws {UsageError} */
export function maxLineBytesFlag(text: string | undefined): number {
  const value = bytes('--max-line-bytes', text) ?? DEFAULT_MAX_LINE_BYTES;
  if (value > MAX_MAX_LINE_BYTES) throw new UsageError(`--max-line-bytes must be from 1 to ${MAX_MAX_LINE_BYTES} (12 MiB), got ${text}`);
  return value;
}

function integer(flag: string, text: string | undefined, min: number, max = Infinity): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be an integer ${max === Infinity ? `>= ${min}` : `from ${min} to ${max}`}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** A flag in ms that ends up in a timer: Node's timers take at most 2^31 - 1 ms (about 24.8 days). */
function milliseconds(flag: string, text: string | undefined, min: number): number | undefined {
  const value = integer(flag, text, min);
  if (value !== undefined && value > MAX_DELAY_MS) throw new UsageError(`${flag} must be at most ${MAX_DELAY_MS} (ms, about 24.8 days), got ${JSON.stringify(text)}`);
  return value;
}

function bytes(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = parseBytes(text);
  if (value === undefined || value < 1) throw new UsageError(`${flag} must be a size in bytes such as 1048576, 512K, 64M or 2G, got ${JSON.stringify(text)}`);
  return value;
}

/** `host:port`, `host` (port 8125) or `[ipv6]:port`. */
function statsd(address: string | undefined, prefix: string | undefined): { host: string; port: number; prefix?: string } | undefined {
  if (address === undefined) {
    if (prefix !== undefined) throw new UsageError('--statsd-prefix needs --statsd host:port');
    return undefined;
  }
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(address.trim());
  const port = Number(m?.[3] ?? 8125);
  if (!m || port < 1 || port > 65535) throw new UsageError(`--statsd must be host:port (e.g. 127.0.0.1:8125), got ${JSON.stringify(address)}`);
  const host = (m[1] ?? m[2]) as string;
  return prefix === undefined ? { host, port } : { host, port, prefix };
}

/** `--worker-data` parsed with the same rules as task lines (no `__proto__` keys, bounded depth). */
function workerData(text: string): unknown {
  const decoded = decodeJson(text);
  if (decoded.kind === 'task') return decoded.task;
  throw new UsageError(`--worker-data must be JSON: ${decoded.kind === 'blank' ? 'it is empty' : decoded.problem.message}`);
}
