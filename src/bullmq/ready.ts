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
 * Resolve when `client` is connected; reject with {@link RedisUnavailableError} after `timeoutMs`.
 * The caller closes the client on failure.
 */
export async function whenReady(client: Connecting, connection: ConnectionOptions, timeoutMs: number): Promise<void> {
  let lastError: Error | undefined;
  const onError = (error: Error): void => {
    lastError = error;
  };
  client.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnavailableError(describeRedis(connection), timeoutMs, lastError ? { cause: lastError } : undefined)), timeoutMs);
  });
  try {
    await Promise.race([client.waitUntilReady(), deadline]);
  } finally {
    clearTimeout(timer);
    client.off('error', onError);
  }
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

/** The raw Redis clients of a BullMQ worker (`getBackend()`, BullMQ 6), as far as they can be had. */
async function redisClients(worker: object): Promise<{ status?: unknown; disconnect?: () => void }[]> {
  const backend = (worker as { getBackend?: () => { client?: Promise<unknown>; blockingClient?: Promise<unknown> } }).getBackend?.();
  const clients = await Promise.all([backend?.client, backend?.blockingClient].map((c) => Promise.resolve(c).catch(() => undefined)));
  return clients.filter((c): c is { status?: unknown; disconnect?: () => void } => typeof c === 'object' && c !== null);
}

/**
 * If the worker's Redis connection is down now (ioredis reconnecting), drop its connections and
 * resolve true; else (up, or unknown) leave them and resolve false. ioredis holds the commands
 * sent while it reconnects until it is back, and its `disconnect()` then neither settles them nor
 * emits `end` (so BullMQ's own `disconnect()` and `close()` would wait for ever): the caller must
 * stop waiting for those commands itself.
 */
export async function disconnectIfRedisDown(worker: object): Promise<boolean> {
  const clients = await redisClients(worker);
  const main = clients[0];
  if (main === undefined || typeof main.status !== 'string' || main.status === 'ready') return false;
  for (const client of clients) client.disconnect?.();
  return true;
}
