/**
 * Keeps a TCP statsd client of ours connected. hot-shots 17 makes a new socket only when the old
 * one reports an error more than a second after it was made: a server that refused the first
 * connection (statsd started after the pool), or that closed it (a restart of statsd, Telegraf or
 * the agent), left the client writing to a destroyed socket for good, and the pool's metrics
 * stopped until the process did. Here every socket of the client is watched, and when one closes
 * a new one is made after a delay: 1 s, doubling up to {@link MAX_DELAY} while the server keeps
 * refusing, back to 1 s once a connection is made. Metrics of the intervals in between are lost,
 * as they are over UDP.
 *
 * A server that accepts the connection and then reads nothing (stopped with SIGSTOP, or stuck)
 * left every batch in the process's memory, without end: here a socket with more than
 * {@link MAX_BACKLOG} bytes waiting takes no more batches (each one dropped counts as an error)
 * until the server reads again.
 */
import type { StatsD } from 'hot-shots';
import { lazyRequire } from '../internal/lazy-require.ts';
import type { ErrorSink } from './report-once.ts';

/** hot-shots' transport: a socket behind `send`/`close`, with the socket's own events. */
interface Transport {
  on(event: 'close' | 'connect' | 'error', listener: (error?: Error) => void): void;
  send(buf: Buffer, callback?: (error?: Error | null) => void): void;
  close(): void;
}

/** The client's fields this reads and replaces (public in hot-shots, untyped). */
interface SocketOwner {
  socket: Transport | null | undefined;
  host: string;
  port: number;
  protocol: string;
}

/** hot-shots' own transport factory, so a new socket behaves as the first one did (newline framing, keep-alive, unref). */
const createTransport = lazyRequire<(client: StatsD, args: { host: string; port: number; protocol: string }) => Transport | null>('hot-shots/lib/transport.js');

/** First delay before a new connection, ms. */
const FIRST_DELAY = 1000;
/** Longest delay between attempts while the server refuses, ms. */
const MAX_DELAY = 10_000;
/** Bytes a socket may have waiting to be sent (beyond what the kernel holds) before it drops batches. */
export const MAX_BACKLOG = 1024 * 1024;

export interface TcpKeeper {
  /** No new connection from now on (the client is closing). */
  stop(): void;
  /** True while the client's socket has closed (refused, or dropped) and no new one is made yet: nothing sent now can arrive. */
  readonly down: boolean;
  /** Connections made after the first (for tests and diagnostics). */
  readonly reconnects: number;
}

/** Watch `client`'s socket and replace it whenever it closes, until `stop()`. `onError` gets the new sockets' errors. */
export function keepTcpConnected(client: StatsD, onError: ErrorSink): TcpKeeper {
  const owner = client as unknown as SocketOwner;
  const watched = new WeakSet<Transport>();
  let stopped = false;
  let delay = FIRST_DELAY;
  let timer: NodeJS.Timeout | undefined;
  let reconnects = 0;
  /** The client's current socket: connecting (or unknown), open, or closed. */
  let state: 'connecting' | 'open' | 'closed' = 'connecting';

  const watch = (transport: Transport): void => {
    if (watched.has(transport)) return;
    watched.add(transport);
    boundBacklog(transport);
    transport.on('connect', () => {
      delay = FIRST_DELAY;
      if (owner.socket === transport) state = 'open';
    });
    transport.on('close', () => closed(transport));
  };

  const closed = (transport: Transport): void => {
    const current = owner.socket;
    if (current == null || current === transport) state = 'closed';
    if (stopped || timer !== undefined) return;
    // hot-shots replaced it itself (an error on an older socket): follow the new one.
    if (current != null && current !== transport) {
      if (!watched.has(current)) state = 'connecting';
      return watch(current);
    }
    later();
  };

  /** The next attempt, after the delay, which doubles (up to MAX_DELAY) until a connection is made. */
  const later = (): void => {
    timer = setTimeout(reconnect, delay);
    timer.unref();
    delay = Math.min(delay * 2, MAX_DELAY);
  };

  const reconnect = (): void => {
    timer = undefined;
    if (stopped) return;
    let fresh: Transport | null;
    try {
      fresh = createTransport()(client, { host: owner.host, port: owner.port, protocol: owner.protocol });
    } catch (err) {
      fresh = null;
      onError(err instanceof Error ? err : new Error(String(err)));
    }
    if (fresh === null) return later();
    const old = owner.socket;
    owner.socket = fresh;
    state = 'connecting';
    reconnects++;
    fresh.on('error', (error) => onError(error ?? new Error('statsd socket error')));
    watch(fresh);
    if (old != null && old !== fresh) old.close();
  };

  if (owner.socket != null) watch(owner.socket);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
    },
    get reconnects() {
      return reconnects;
    },
    get down() {
      return state === 'closed';
    },
  };
}

/**
 * Make `transport` drop what it is given while more than {@link MAX_BACKLOG} bytes it was given
 * wait to be sent (written, and their write not yet done): a batch dropped is the send's error,
 * which hot-shots hands to the client's error handler. One batch may take it past the bound.
 */
function boundBacklog(transport: Transport): void {
  const send = transport.send.bind(transport);
  let waiting = 0;
  transport.send = (buf, callback) => {
    if (waiting > MAX_BACKLOG) {
      const error = Object.assign(new Error(`the server reads nothing: over ${MAX_BACKLOG} bytes wait to be sent, metrics are dropped until it reads`), { code: 'ERR_STATSD_BACKLOG' });
      callback?.(error);
      return;
    }
    waiting += buf.length;
    send(buf, (error) => {
      waiting -= buf.length;
      callback?.(error);
    });
  };
}
