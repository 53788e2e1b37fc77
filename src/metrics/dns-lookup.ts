/**
 * The DNS lookup of a UDP statsd client: one lookup of the host at a time, its answer kept for
 * 60 s. hot-shots' own cache (`cacheDns`) started a lookup for every packet sent while no answer
 * was cached: with a resolver that is slow to answer (or to fail), a process had one
 * `getaddrinfo` running per packet of every interval the lookup took, and those run on libuv's
 * thread pool (4 threads by default), which the process's file system, `crypto` and `zlib`
 * calls wait for. Here the packets sent while a lookup runs wait for that one lookup.
 */
import type { SocketOptions } from 'node:dgram';

/** What `dgram.createSocket()` takes as `lookup`. */
export type DgramLookup = NonNullable<SocketOptions['lookup']>;

/** How long an answer is used, ms: hot-shots' `cacheDnsTtl`. A failure is not kept: the next packet asks again. */
export const DNS_TTL = 60_000;

type Callback = (error: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * A `lookup` for `dgram.createSocket()` that shares one lookup of a host among the packets sent
 * while it runs, and keeps its answer for `ttl` ms. An IP address is answered at once.
 * @param now the clock, ms (injected for tests)
 */
export function sharedLookup(ttl = DNS_TTL, now: () => number = () => performance.now()): DgramLookup {
  const answers = new Map<string, { address: string; family: number; at: number }>();
  const running = new Map<string, Callback[]>();
  const lookup = (hostname: string, options: unknown, callback?: Callback): void => {
    const done = (typeof options === 'function' ? options : callback) as Callback;
    const family = familyOf(options);
    const ip = process.getBuiltinModule('node:net').isIP(hostname);
    if (ip !== 0) return done(null, hostname, ip);
    const key = `${family}/${hostname}`;
    const answer = answers.get(key);
    if (answer !== undefined && now() - answer.at < ttl) return done(null, answer.address, answer.family);
    const waiting = running.get(key);
    if (waiting !== undefined) {
      waiting.push(done);
      return;
    }
    const callbacks = [done];
    running.set(key, callbacks);
    process.getBuiltinModule('node:dns').lookup(hostname, { family }, (error, address, found) => {
      running.delete(key);
      if (error === null) answers.set(key, { address, family: found, at: now() });
      for (const call of callbacks) call(error, address, found);
    });
  };
  return lookup as DgramLookup;
}

/** The address family asked for: dgram passes 4 or 6 (a number), others an options object. 0: any. */
function familyOf(options: unknown): 0 | 4 | 6 {
  const family = typeof options === 'object' && options !== null ? (options as { family?: unknown }).family : options;
  return family === 4 || family === 6 ? family : family === 'IPv4' ? 4 : family === 'IPv6' ? 6 : 0;
}
