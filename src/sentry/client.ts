/**
 * looppool's own Sentry clients: one for each pool in the parent, one in each worker process.
 * They are private: a `NodeClient` on its own `Scope` (Sentry's pattern for libraries in shared
 * environments), so an application's own `Sentry.init()` is neither replaced nor needed. The SDK is imported only
 * when a DSN is configured; a process without Sentry never loads it (nor node:module, taken from
 * `process.getBuiltinModule()` when needed: an ES import would load it in every process).
 */
import type { IncomingMessage, RequestOptions } from 'node:http';
import type { NodeClient, Scope } from '@sentry/node';
import { monotonicMs } from '../internal/monotonic.ts';
import { settleWithin } from '../internal/settle-within.ts';
import { CaptureQueue, type Send } from './capture-queue.ts';
import { resolveSentryConfig, type SentryConfig, type SentryOptions } from './config.ts';
import { scrubEvent } from './scrub.ts';

/** Which side of the pool a process is. */
export type SentryRole = 'parent' | 'worker';

/** Options of {@link SentryClient.open}. */
export interface SentryClientOptions extends SentryOptions {
  readonly role: SentryRole;
  /** Tags on every event of this process, e.g. `{ pool: 'images', worker: 3 }` in a worker. */
  readonly tags?: Readonly<Record<string, string | number>> | undefined;
  /** Runs before each capture (capture-queue.ts `beforeRun`); a worker's sends the answers held. Only the first opener's counts. */
  readonly beforeCapture?: (() => void) | undefined;
}

/** One SDK client and its scope, shared by the pools of this process that have the same settings. */
interface Shared {
  readonly client: NodeClient;
  readonly scope: Scope;
  /** Captures waiting for their loop turn (capture-queue.ts). */
  readonly queue: CaptureQueue;
  /** The settings it was made from. */
  readonly key: string;
  /** Open {@link SentryClient}s on it: the SDK client closes with the last. */
  users: number;
}

const shared = new Map<string, Shared>();

/**
 * Node's http/https `request`, with each request's socket unref'd: a Sentry server that accepts a
 * connection and never answers must not keep the process alive once its pool has stopped (a plain
 * script never exited). Sending still has its bound: `flush` waits up to its timeout.
 */
const BACKGROUND_HTTP: HttpModule = {
  request(options, callback) {
    const secure = typeof options === 'string' || options instanceof URL ? String(options).startsWith('https:') : options.protocol === 'https:';
    const request = process.getBuiltinModule(secure ? 'node:https' : 'node:http').request(options as RequestOptions, callback as (res: IncomingMessage) => void);
    request.on('socket', (socket) => socket.unref());
    return request;
  },
};
type HttpModule = NonNullable<Parameters<typeof import('@sentry/node').makeNodeTransport>[0]['httpModule']>;

/**
 * looppool's Sentry client for one pool (in the parent) or one worker process. Each pool has its
 * own, made from its own settings: a pool's events go to its DSN, with its environment, and a
 * pool without Sentry reports nothing, whatever other pools of the process do. Pools with the
 * same settings share one SDK client; it closes when the last of them does.
 *
 * Start-up is kept small for workers: no runtime module instrumentation
 * (`enableRuntimeChannelInjection: false`), no OpenTelemetry, and only the integrations that
 * enrich error events (linked errors, context lines, Node context). No process handler is
 * installed: the worker runtime owns `uncaughtException` and exit.
 */
export class SentryClient {
  readonly #shared: Shared;
  /** `closing`: close() was called, and runs the captures queued so far; `closed`: captures are dropped. */
  #state: 'open' | 'closing' | 'closed' = 'open';

  private constructor(from: Shared) {
    this.#shared = from;
  }

  /**
   * The client for these settings, or `undefined` without a DSN (option or `SENTRY_DSN`).
   * `env` gives what the options leave out: this process's environment, or none for settings
   * the parent already resolved (a worker's, whose environment is the pool's `env`).
   * @throws {TypeError} when the DSN is malformed (without quoting it).
   */
  static open(options: SentryClientOptions, env: NodeJS.ProcessEnv = process.env): SentryClient | undefined {
    const config = resolveSentryConfig(options, env);
    if (!config) return undefined;
    const key = JSON.stringify([config.dsn, config.environment, config.release, options.role, options.tags]);
    const existing = shared.get(key) ?? startClient(config, options, key);
    existing.users++;
    return new SentryClient(existing);
  }

  /** A fresh scope for one event, forked from the client's; `undefined` once closed. */
  eventScope(): Scope | undefined {
    return this.#state === 'closed' ? undefined : this.#shared.scope.clone();
  }

  /**
   * Queue a capture: `send` runs in a later loop turn, one capture per turn, and not at all when
   * too many wait or `key` repeats too fast (capture-queue.ts; `send` is told what it stands for).
   * Dropped once closed.
   */
  enqueue(key: string | undefined, send: Send): void {
    if (this.#state === 'open') this.#shared.queue.add(key, send);
  }

  /**
   * Run the queued captures, then send what they made, waiting at most `timeoutMs` in all. Call
   * it before a worker exits. Resolves `true` when everything was sent, `false` on timeout.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    const { client, queue } = this.#shared;
    const start = monotonicMs();
    const ran = await runQueued(queue, timeoutMs);
    const left = Math.max(1, timeoutMs - (monotonicMs() - start));
    return (await within(left, () => client.flush(left))) && ran;
  }

  /**
   * Flush, and stop using the client (the SDK client shuts down with its last user); later
   * captures are dropped. Its queued captures still run first: they look for it open.
   */
  async close(timeoutMs: number): Promise<boolean> {
    if (this.#state !== 'open') return false;
    this.#state = 'closing';
    const s = this.#shared;
    if (--s.users > 0) {
      const flushed = await this.flush(timeoutMs);
      this.#state = 'closed';
      return flushed;
    }
    shared.delete(s.key);
    const start = monotonicMs();
    const ran = await runQueued(s.queue, timeoutMs);
    this.#state = 'closed';
    s.queue.clear();
    const left = Math.max(1, timeoutMs - (monotonicMs() - start));
    return (await within(left, () => s.client.close(left))) && ran;
  }
}

/** Run every queued capture (those held for their interval's end too), waiting at most `timeoutMs`; true when all ran. */
async function runQueued(queue: CaptureQueue, timeoutMs: number): Promise<boolean> {
  let ran = false;
  await settleWithin(timeoutMs, (done) =>
    queue.release(() => {
      ran = true;
      done();
    }),
  );
  return ran;
}

function startClient(config: SentryConfig, options: SentryClientOptions, key: string): Shared {
  const sdk = loadSdk();
  const client = new sdk.NodeClient({
    dsn: config.dsn,
    ...(config.environment === undefined ? {} : { environment: config.environment }),
    ...(config.release === undefined ? {} : { release: config.release }),
    transport: (transportOptions) => sdk.makeNodeTransport({ ...transportOptions, httpModule: BACKGROUND_HTTP }),
    stackParser: sdk.defaultStackParser,
    integrations: [sdk.linkedErrorsIntegration(), sdk.contextLinesIntegration(), sdk.nodeContextIntegration()],
    enableRuntimeChannelInjection: false,
    enableOpenTelemetrySetup: false,
    // No tracing: 'static' also keeps the span-streaming buffer from being set up.
    traceLifecycle: 'static',
    sendClientReports: false,
    // The SDK's debug logging can print options, the DSN included.
    debug: false,
    beforeSend: scrubEvent,
  });
  const scope = new sdk.Scope();
  scope.setClient(client);
  scope.setTags({ role: options.role, ...stringTags(options.tags) });
  client.init();
  const made: Shared = { client, scope, queue: new CaptureQueue({ beforeRun: options.beforeCapture }), key, users: 0 };
  shared.set(key, made);
  return made;
}

/**
 * The SDK's CommonJS build: it loads in about 60 % of the time of its ES module build (measured
 * 170–200 ms against 280–300 ms on Node 20), which every worker process pays at start-up.
 */
function loadSdk(): typeof import('@sentry/node') {
  return process.getBuiltinModule('node:module').createRequire(import.meta.url)('@sentry/node') as typeof import('@sentry/node');
}

/** Tag values as strings, the type Sentry indexes them as. */
function stringTags(tags: Readonly<Record<string, string | number>> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(tags ?? {}).map(([key, value]) => [key, String(value)]));
}

/**
 * `work()`'s answer, waited for with a timer that keeps the process alive (settleWithin): the
 * SDK's own wait does not, and its requests' sockets are unref'd (BACKGROUND_HTTP).
 */
async function within(timeoutMs: number, work: () => PromiseLike<boolean>): Promise<boolean> {
  let ok = false;
  await settleWithin(timeoutMs, (done) => {
    work().then((result) => {
      ok = result;
      done();
    }, done);
  });
  return ok;
}
