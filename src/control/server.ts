/**
 * The control server: a Unix socket, private to the user, through which `looppool top`/`stop`
 * read a pool's live numbers and ask it to stop. One per pool; closed with the pool.
 * Built-ins it needs only when used come from `process.getBuiltinModule()` there: an ES import
 * would load them (and run their lazy getters) in every process that imports looppool.
 */
import type net from 'node:net';
import { ControlChannelError } from './errors.ts';
import { LoopDelayMeter, RateMeter } from './meters.ts';
import { idOf, MAX_REQUEST_BYTES, parseRequest, type ControlEvent, type ControlRequest, type ControlResponse, type ControlStats } from './protocol.ts';
import { eventData, eventLine } from './event-line.ts';
import { ensureControlDir, ownControlDir, socketPath } from './runtime-dir.ts';
import { freeSocketPath, removeDeadSockets } from './stale-sockets.ts';
import { claimInstance, type PoolInstance } from '../internal/pool-instances.ts';

/**
 * What the server needs of a pool (a `Pool` fits). Typed structurally so that this module
 * imports nothing from `parent/`, which may then start a server itself (`control: true`).
 */
export interface ControlledPool {
  /** A snapshot; its fields are spread into the `stats` answer. */
  stats(): { readonly done: number; readonly failed: number };
  stop(options?: { drain?: boolean }): Promise<void>;
  on(event: any, listener: (...args: any[]) => void): unknown;
  off(event: any, listener: (...args: any[]) => void): unknown;
}

/** Options of {@link startControlServer}. */
export interface ControlServerOptions {
  /** The pool's name (in the socket's file name and in `stats`). */
  name: string;
  /** Directory of the socket. @default `$XDG_RUNTIME_DIR/looppool` when that directory is this user's, else `<tmpdir>/looppool-<uid>` */
  dir?: string;
  /** More fields for `stats`, under `details` (e.g. the CLI's input and output counters). */
  details?: () => unknown;
  /** Called for a `stop` request instead of `pool.stop({ drain })` (the CLI stops reading its input first). */
  onStop?: (drain: boolean) => void;
  /** Pool events streamed to `events` subscribers. @default ['workerStart', 'workerExit', 'workerError', 'loopBlocked'] */
  events?: readonly string[];
  /** A connection that sends nothing for this long (ms) is closed; an `events` subscription is kept. @default 30000 */
  idleTimeout?: number;
}

/** A running control server. */
export interface ControlServer {
  /** Absolute path of the socket (0600, in a 0700 directory). */
  readonly path: string;
  /** Stop listening, hang up on clients and remove the socket file. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_EVENTS = ['workerStart', 'workerExit', 'workerError', 'loopBlocked'];
const DEFAULT_IDLE_TIMEOUT = 30_000;
/** A subscriber that lets this much output pile up is disconnected rather than buffered without end. */
const MAX_PENDING_OUTPUT = 1024 * 1024;
const inUse = new Set<string>();

/** The sockets listening now, unlinked by one 'exit' listener however many pools have one (one each made Node warn of a leak at 10). */
const listening = new Set<string>();
const unlinkAtExit = (): void => {
  for (const path of listening) unlinkQuietly(path);
};

function unlinkQuietly(path: string): void {
  try {
    process.getBuiltinModule('node:fs').unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * Open the control socket of `pool` and serve `stats`, `stop` and `events` requests on it.
 * The socket is bound inside a directory checked to be 0700 and owned by this user, then
 * chmod-ed to 0600; if either step fails nothing is left listening.
 *
 * @throws {ControlChannelError} when the socket cannot be created safely.
 * @example
 * ```ts
 * const control = await startControlServer(pool, { name: 'extract' });
 * // … `looppool top` shows the pool's queue and throughput …
 * await control.close();
 * ```
 */
export async function startControlServer(pool: ControlledPool, options: ControlServerOptions): Promise<ControlServer> {
  const idle = options.idleTimeout;
  if (idle !== undefined && !(Number.isSafeInteger(idle) && idle > 0)) throw new TypeError(`Expected \`idleTimeout\` to be a positive integer (ms), got ${String(idle)}`);
  const dir = options.dir ?? ownControlDir();
  await ensureControlDir(dir);
  // Swept while ours is bound, not before: it leaves every path of this process's alone.
  const swept = removeDeadSockets(dir, (path) => inUse.has(path));
  // The pool's instance number among the pools of its name in this process, the one its workers'
  // titles carry (`<pid>@<name>@2.sock` for the workers titled `looppool <name>@2 worker <n>`).
  const instance = claimInstance(options.name, pool);
  let path: string | undefined;
  try {
    const wanted = socketPath(dir, process.pid, options.name, instance.instance);
    // A second server for one pool and name: its socket would have replaced the first's.
    if (inUse.has(wanted)) throw new ControlChannelError(`The pool already has a control socket ${wanted}`);
    inUse.add((path = wanted));
    await freeSocketPath(path);
    const session = new ControlSession(pool, options, path, instance);
    await session.listen();
    await swept;
    return session;
  } catch (err) {
    if (path !== undefined) inUse.delete(path);
    instance.release();
    throw err instanceof ControlChannelError ? err : new ControlChannelError(`Cannot open the control socket ${String(path)}: ${(err as Error).message}`, { cause: err });
  }
}

class ControlSession implements ControlServer {
  readonly path: string;
  readonly #pool: ControlledPool;
  readonly #options: ControlServerOptions;
  readonly #server: net.Server;
  readonly #clients = new Set<net.Socket>();
  /** Clients that asked for events. The pool gets one listener per event for all of them (one each made Node warn past ten). */
  readonly #subscribers = new Set<net.Socket>();
  #unlisten: (() => void) | undefined;
  readonly #startedAt = new Date();
  /** The same moment on the monotonic clock, for the uptime. */
  readonly #startedT = performance.now();
  readonly #rate: RateMeter;
  readonly #loop = new LoopDelayMeter();
  readonly #instance: PoolInstance;
  #closed: Promise<void> | undefined;

  constructor(pool: ControlledPool, options: ControlServerOptions, path: string, instance: PoolInstance) {
    this.path = path;
    this.#instance = instance;
    this.#pool = pool;
    this.#options = options;
    this.#rate = new RateMeter(() => {
      const s = pool.stats();
      return s.done + s.failed;
    });
    this.#server = process.getBuiltinModule('node:net').createServer((socket) => this.#accept(socket));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.path, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    try {
      await process.getBuiltinModule('node:fs/promises').chmod(this.path, 0o600);
    } catch (err) {
      await this.close();
      throw new ControlChannelError(`Cannot restrict the control socket ${this.path} to its owner (chmod 0600): ${(err as Error).message}`, { cause: err });
    }
    this.#server.unref(); // the control channel never keeps a process alive
    this.#server.on('error', () => {}); // accept errors (EMFILE…) must not crash the pool
    if (listening.size === 0) process.on('exit', unlinkAtExit);
    listening.add(this.path);
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    if (listening.delete(this.path) && listening.size === 0) process.off('exit', unlinkAtExit);
    this.#rate.stop();
    this.#loop.stop();
    for (const client of this.#clients) client.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    unlinkQuietly(this.path);
    inUse.delete(this.path);
    this.#instance.release();
  }

  #accept(socket: net.Socket): void {
    socket.unref();
    this.#clients.add(socket);
    socket.on('close', () => this.#clients.delete(socket));
    socket.on('error', () => socket.destroy());
    // A client that connects and never sends (or forgets to hang up) would hold one of the pool's descriptors for ever.
    socket.setTimeout(this.#options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT, () => socket.destroy());
    let buffer = '';
    let refused = false;
    // A line over the limit closes the connection, whether it came whole or its end is still to come.
    const refuse = (): void => {
      refused = true;
      this.#send(socket, { id: null, ok: false, error: { name: 'TypeError', code: 'ERR_CONTROL_REQUEST', message: `Request longer than ${MAX_REQUEST_BYTES} bytes` } });
      // Once the answer is out, hang up both ways: a half-close left the pool reading (and decoding) all a client sent.
      socket.end(() => socket.destroy());
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (refused) return;
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) return refuse();
        if (line.trim() !== '') this.#handle(socket, line);
      }
      if (Buffer.byteLength(buffer) > MAX_REQUEST_BYTES) refuse();
    });
  }

  #handle(socket: net.Socket, line: string): void {
    let request: ControlRequest;
    try {
      request = parseRequest(line);
    } catch (err) {
      this.#send(socket, { id: idOf(line), ok: false, error: { name: 'TypeError', code: 'ERR_CONTROL_REQUEST', message: (err as Error).message } });
      return;
    }
    switch (request.op) {
      case 'stats':
        this.#answerStats(socket, request.id);
        return;
      case 'stop':
        this.#send(socket, { id: request.id, ok: true, result: { stopping: true, drain: request.drain } });
        if (this.#options.onStop) this.#options.onStop(request.drain);
        else void this.#pool.stop({ drain: request.drain }).catch(() => {});
        return;
      case 'events':
        this.#send(socket, { id: request.id, ok: true, result: { subscribed: this.#options.events ?? DEFAULT_EVENTS } });
        this.#subscribe(socket);
        return;
    }
  }

  /** `details()` is the owner's code: what it throws, or returns that JSON cannot carry (a BigInt, a cycle), is the client's error, not the pool's crash. */
  #answerStats(socket: net.Socket, id: ControlRequest['id']): void {
    let line: string;
    try {
      line = JSON.stringify({ id, ok: true, result: this.#stats() } satisfies ControlResponse);
    } catch (err) {
      const error = { name: err instanceof Error ? err.name : 'Error', code: 'ERR_CONTROL_STATS', message: `Cannot answer stats: ${err instanceof Error ? err.message : String(err)}` };
      line = JSON.stringify({ id, ok: false, error } satisfies ControlResponse);
    }
    this.#write(socket, line);
  }

  #stats(): ControlStats {
    const details = this.#options.details?.();
    return {
      name: this.#options.name,
      pid: process.pid,
      startedAt: this.#startedAt.toISOString(),
      uptimeMs: Math.round(performance.now() - this.#startedT),
      throughput: Math.round(this.#rate.rate * 10) / 10,
      loopDelay: this.#loop.read(),
      ...this.#pool.stats(),
      ...(details === undefined ? {} : { details }),
    };
  }

  #subscribe(socket: net.Socket): void {
    if (this.#subscribers.has(socket)) return; // asked twice: one stream
    this.#subscribers.add(socket);
    socket.setTimeout(0); // a subscriber only listens
    socket.once('close', () => {
      this.#subscribers.delete(socket);
      if (this.#subscribers.size > 0) return;
      this.#unlisten?.();
      this.#unlisten = undefined;
    });
    if (this.#unlisten) return;
    const on = this.#pool.on.bind(this.#pool) as (event: string, listener: (...args: unknown[]) => void) => void;
    const off = this.#pool.off.bind(this.#pool) as (event: string, listener: (...args: unknown[]) => void) => void;
    const listeners = (this.#options.events ?? DEFAULT_EVENTS).map((event) => {
      const listener = (...args: unknown[]): void => {
        const line = eventLine({ event, at: new Date().toISOString(), data: eventData(args) });
        for (const subscriber of this.#subscribers) this.#write(subscriber, line);
      };
      on(event, listener);
      return { event, listener };
    });
    this.#unlisten = () => {
      for (const { event, listener } of listeners) off(event, listener);
    };
  }

  #send(socket: net.Socket, message: ControlResponse | ControlEvent): void {
    this.#write(socket, JSON.stringify(message));
  }

  #write(socket: net.Socket, line: string): void {
    if (socket.destroyed) return;
    if (socket.writableLength > MAX_PENDING_OUTPUT) {
      socket.destroy(); // a client that does not read
      return;
    }
    socket.write(`${line}\n`);
  }
}
