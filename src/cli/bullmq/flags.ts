/**
 * Flag values shared by `looppool enqueue` and `looppool run --bullmq`: the queue name, the
 * Redis URL (and the password in it, never to be printed), whole numbers and which finished jobs to keep.
 */
import { UsageError } from '../exit-codes.ts';

/** Where Redis is when neither `--redis` nor `$REDIS_URL` says. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** A checked `--redis` value. */
export interface RedisFlag {
  /** The URL handed to BullMQ. */
  readonly url: string;
  /** The URL without its user name and password, for messages. */
  readonly shown: string;
  /** The password (and user name) in the URL: never printed. */
  readonly secrets: readonly string[];
}

/**
 * `--redis`, else `$REDIS_URL`, else {@link DEFAULT_REDIS_URL}.
 * @throws {UsageError} when it is not a `redis://` or `rediss://` URL.
 */
export function redisFlag(flag: string | undefined, env: NodeJS.ProcessEnv): RedisFlag {
  const given = flag ?? (env.REDIS_URL !== undefined && env.REDIS_URL !== '' ? env.REDIS_URL : undefined);
  const text = given ?? DEFAULT_REDIS_URL;
  const from = flag !== undefined ? '--redis' : given !== undefined ? 'REDIS_URL' : 'the default Redis URL';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${from} must be a redis:// or rediss:// URL such as ${DEFAULT_REDIS_URL}, got something that is not a URL`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new UsageError(`${from} must be a redis:// or rediss:// URL such as ${DEFAULT_REDIS_URL}, got a ${url.protocol} URL`);
  }
  const secrets = [decodeURIComponent(url.password), url.password].filter((s) => s.length >= 4);
  url.username = '';
  url.password = '';
  return { url: text, shown: url.href, secrets: [...new Set(secrets)] };
}

/**
 * A BullMQ queue name: non-empty, without `:` (BullMQ builds Redis keys as `bull:<name>:…`).
 * @throws {UsageError}
 */
export function queueName(flag: string, name: string): string {
  if (name === '' || name.includes(':') || /[\s\0]/.test(name)) {
    throw new UsageError(`${flag} must be a queue name without ':' or spaces, got ${JSON.stringify(name)}`);
  }
  return name;
}

/** A whole number flag (`undefined` when not given). @throws {UsageError} */
export function wholeNumber(flag: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`${flag} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** BullMQ's `KeepJobs`: which finished jobs Redis keeps (`count` latest, for `age` seconds; both: those both allow). */
export type KeepJobsFlag = { readonly count: number } | { readonly age: number; readonly count?: number };

/**
 * `--remove-on-complete` / `--remove-on-fail`: `<count>` keeps the latest count finished jobs (0:
 * none, each is removed as it finishes), `age:<seconds>` keeps them that long, `<count>,age:<seconds>`
 * both (`undefined` when not given: BullMQ keeps every job). @throws {UsageError}
 */
export function keepJobsFlag(flag: string, text: string | undefined): KeepJobsFlag | undefined {
  if (text === undefined) return undefined;
  const match = /^\s*(?:(\d+)|age:(\d+)|(\d+),\s*age:(\d+))\s*$/.exec(text);
  const count = match?.[1] ?? match?.[3];
  const age = match?.[2] ?? match?.[4];
  const ok = (digits: string | undefined, min: number): boolean => digits === undefined || (Number.isSafeInteger(Number(digits)) && Number(digits) >= min);
  if (match === null || !ok(count, 0) || !ok(age, 1)) {
    throw new UsageError(`${flag} must be a count of jobs to keep (0: none), age:<seconds> or <count>,age:<seconds>, got ${JSON.stringify(text)}`);
  }
  if (age === undefined) return { count: Number(count) };
  return count === undefined ? { age: Number(age) } : { age: Number(age), count: Number(count) };
}
