/**
 * Waiting for Redis at start-up, with a deadline. BullMQ (through ioredis) reconnects forever,
 * which is right for a consumer that lost Redis mid-run, but at start-up a wrong address should
 * fail in seconds with a clear error, not hang.
 */
import type { ConnectionOptions } from 'bullmq';
import { RedisUnavailableError } from './errors.ts';

/** What BullMQ's Queue and Worker have in common for this. */
interface Connecting {
  waitUntilReady(): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Resolve when `client` is connected; reject with {@link RedisUnavailableError} after `timeoutMs`,
 * or at once when Redis refuses the credentials (ioredis would retry them until the deadline).
 * The caller closes the client on failure.
 */
export async function whenReady(client: Connecting, connection: ConnectionOptions, timeoutMs: number): Promise<void> {
  let lastError: Error | undefined;
  let refused: ((error: RedisUnavailableError) => void) | undefined;
  const onError = (error: Error): void => {
    lastError = error;
    if (isAuthError(error)) refused?.(new RedisUnavailableError(describeRedis(connection), undefined, { cause: error }));
  };
  client.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    refused = reject;
    timer = setTimeout(() => reject(new RedisUnavailableError(describeRedis(connection), timeoutMs, lastError ? { cause: lastError } : undefined)), timeoutMs);
  });
  try {
    await Promise.race([client.waitUntilReady(), deadline]);
  } finally {
    clearTimeout(timer);
    client.off('error', onError);
  }
}

/** Redis's reply to credentials it does not accept (a wrong password or user, or none where one is needed). */
function isAuthError(error: Error): boolean {
  return /^(?:WRONGPASS|NOAUTH|NOPERM)\b|^ERR (?:AUTH|invalid password|invalid username)/.test(error.message);
}

/** `redis://host:port/db` without credentials, `host:port`, or 'the given Redis client'. */
export function describeRedis(connection: ConnectionOptions): string {
  const c = connection as { url?: unknown; host?: unknown; port?: unknown; duplicate?: unknown };
  if (typeof c.url === 'string') {
    try {
      const url = new URL(c.url);
      url.username = '';
      url.password = '';
      return url.href;
    } catch {
      return 'the given URL';
    }
  }
  if (typeof c.duplicate === 'function') return 'the given Redis client';
  return `${typeof c.host === 'string' ? c.host : '127.0.0.1'}:${typeof c.port === 'number' ? c.port : 6379}`;
}

/** What an ioredis client tells of its connection: the part watched here. */
interface RedisClient {
  on(event: 'close' | 'ready', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'close' | 'ready', listener: () => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
}

/** A watch on a connected client's link to Redis, from {@link watchConnection}. */
export interface ConnectionWatch {
  /**
   * `request`, unless Redis is away for the watch's timeout in a row while it is pending: then a
   * rejection with {@link RedisUnavailableError} (`request` itself is left waiting).
   */
  guard<T>(request: Promise<T>): Promise<T>;
  /** That error, once a guard has rejected with it. */
  readonly error: RedisUnavailableError | undefined;
  stop(): void;
}

/**
 * Watch a connected client. When its connection closes, ioredis reconnects and holds the commands
 * sent meanwhile (BullMQ's queue retries each up to 20 times, backing off to 20 s: minutes); a
 * guarded request fails instead once Redis has been away for `timeoutMs` while it waited.
 * Away while nothing is guarded (a producer waiting for its input) is not counted.
 */
export function watchConnection(client: object, connection: ConnectionOptions, timeoutMs: number): ConnectionWatch {
  const c = client as RedisClient;
  let down = false;
  let lastError: Error | undefined;
  let timer: NodeJS.Timeout | undefined;
  let fail: ((error: RedisUnavailableError) => void) | undefined;
  const startTimer = (): void => {
    timer ??= setTimeout(() => {
      watch.error = new RedisUnavailableError(describeRedis(connection), timeoutMs, lastError ? { cause: lastError } : undefined);
      fail?.(watch.error);
    }, timeoutMs);
  };
  const stopTimer = (): void => {
    clearTimeout(timer);
    timer = undefined;
  };
  const onError = (error: Error): void => {
    lastError = error;
  };
  const onClose = (): void => {
    down = true;
    if (fail) startTimer();
  };
  const onReady = (): void => {
    down = false;
    lastError = undefined;
    stopTimer();
  };
  const watch = {
    error: undefined as RedisUnavailableError | undefined,
    async guard<T>(request: Promise<T>): Promise<T> {
      const deadline = new Promise<never>((_, reject) => (fail = reject));
      if (down) startTimer();
      try {
        return await Promise.race([request, deadline]);
      } finally {
        fail = undefined;
        stopTimer();
      }
    },
    stop(): void {
      stopTimer();
      c.off('close', onClose);
      c.off('ready', onReady);
      c.off('error', onError);
    },
  };
  c.on('close', onClose);
  c.on('ready', onReady);
  c.on('error', onError);
  return watch;
}

/** The main Redis client of a BullMQ queue or worker (`getBackend().client`, BullMQ 6), if it can be had. */
export async function mainClient(queueOrWorker: object): Promise<{ disconnect?: () => void } | undefined> {
  return (await redisClients(queueOrWorker))[0];
}

/** The raw Redis clients of a BullMQ worker (`getBackend()`, BullMQ 6), as far as they can be had. */
async function redisClients(worker: object): Promise<{ status?: unknown; disconnect?: () => void }[]> {
  const backend = (worker as { getBackend?: () => { client?: Promise<unknown>; blockingClient?: Promise<unknown> } }).getBackend?.();
  const clients = await Promise.all([backend?.client, backend?.blockingClient].map((c) => Promise.resolve(c).catch(() => undefined)));
  return clients.filter((c): c is { status?: unknown; disconnect?: () => void } => typeof c === 'object' && c !== null);
}

/**
 * Resolve once none of the worker's Redis connections is between connections (ioredis connecting
 * or reconnecting): BullMQ's `close()` disconnects its blocking connection and waits for its `end`,
 * which ioredis never emits for a connection it was reconnecting (the close waited for ever, Redis
 * back or not). A connection that is ready, waiting to connect, or ended is fine as it is.
 */
export async function whenConnected(worker: object): Promise<void> {
  const clients = (await redisClients(worker)) as { status?: unknown; once?: (event: string, listener: () => void) => void; off?: (event: string, listener: () => void) => void }[];
  await Promise.all(
    clients.map((client) => {
      if (typeof client.status !== 'string' || !BETWEEN.has(client.status) || !client.once || !client.off) return undefined;
      return new Promise<void>((resolve) => {
        const done = (): void => {
          client.off?.('ready', done);
          client.off?.('end', done);
          resolve();
        };
        client.once?.('ready', done);
        client.once?.('end', done);
      });
    }),
  );
}

/** ioredis's states between two connections. */
const BETWEEN = new Set(['connecting', 'connect', 'reconnecting']);

/**
 * If the worker's Redis connection is down now (ioredis reconnecting), drop its connections and
 * resolve true; else (up, or unknown) leave them and resolve false. ioredis holds the commands
 * sent while it reconnects until it is back, and its `disconnect()` then neither settles them nor
 * emits `end` (so BullMQ's own `disconnect()` and `close()` would wait for ever): the caller must
 * stop waiting for those commands itself.
 *
 * BullMQ's timers go too. Its `close()` clears them once the jobs in flight have ended, which now
 * never happens, and they would hold the process after everything else has let go: the
 * stalled-job check's (`stalledInterval`, 30 s by default; pausing clears it) and the lock
 * renewal's (every `lockRenewTime / 2`, until a renewal hangs on the dropped connection; closing
 * the lock manager clears it, and the locks were lost with the connection anyway).
 */
export async function disconnectIfRedisDown(worker: object): Promise<boolean> {
  const clients = await redisClients(worker);
  const main = clients[0];
  if (main === undefined || typeof main.status !== 'string' || main.status === 'ready') return false;
  for (const client of clients) client.disconnect?.();
  const bullmqWorker = worker as { pause?: (doNotWaitActive: boolean) => Promise<void>; lockManager?: { close?: () => Promise<void> } };
  // true: do not wait for the jobs in flight (their end needs Redis).
  await Promise.all([bullmqWorker.pause?.(true), bullmqWorker.lockManager?.close?.()].map((p) => Promise.resolve(p).catch(() => {})));
  return true;
}
