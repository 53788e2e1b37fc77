/**
 * looppool's own Sentry client, in the parent and in every worker process. It is private: a
 * `NodeClient` on its own `Scope` (Sentry's pattern for libraries in shared environments), so
 * an application's own `Sentry.init()` is neither replaced nor needed. The SDK is imported only
 * when a DSN is configured; a process without Sentry never loads it (nor node:module, taken from
 * `process.getBuiltinModule()` when needed: an ES import would load it in every process).
 */
import type { IncomingMessage, RequestOptions } from 'node:http';
import type { NodeClient, Scope } from '@sentry/node';
import { settleWithin } from '../internal/settle-within.ts';
import { resolveSentryConfig, type SentryOptions } from './config.ts';
import { scrubEvent } from './scrub.ts';

/** Which side of the pool a process is. */
export type SentryRole = 'parent' | 'worker';

/** Options of {@link initSentry}. */
export interface InitSentryOptions extends SentryOptions {
  readonly role: SentryRole;
  /** Tags on every event of this process, e.g. `{ pool: 'images', worker: 3 }` in a worker. */
  readonly tags?: Readonly<Record<string, string | number>> | undefined;
}

interface Active {
  readonly client: NodeClient;
  readonly scope: Scope;
  /** The settings it was made from, to recognise a repeated call. */
  readonly key: string;
}

let active: Active | undefined;

/**
 * Node's http/https `request`, with each request's socket unref'd: a Sentry server that accepts a
 * connection and never answers must not keep the process alive once its pool has stopped (a plain
 * script never exited). Sending still has its bound: `flushSentry` waits up to its timeout.
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

/** How long a replaced client may take to send what it still holds, in ms. */
const CLOSE_REPLACED_MS = 2_000;

/**
 * Start looppool's Sentry client for this process. Without a DSN (option or `SENTRY_DSN`) it
 * does nothing and resolves `false`. Calling it again with the same settings keeps the running
 * client (several pools in one parent share it); with other settings it replaces it (the old
 * one is flushed and closed in the background).
 *
 * Start-up is kept small for workers: no runtime module instrumentation
 * (`enableRuntimeChannelInjection: false`), no OpenTelemetry, and only the integrations that
 * enrich error events (linked errors, context lines, Node context). No process handler is
 * installed: the worker runtime owns `uncaughtException` and exit.
 * @throws {TypeError} when the DSN is malformed (without quoting it).
 */
export async function initSentry(options: InitSentryOptions): Promise<boolean> {
  const config = resolveSentryConfig(options);
  if (!config) return false;
  const key = JSON.stringify([config.dsn, config.environment, config.release, options.role, options.tags]);
  if (active?.key === key) return true;
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
  const previous = active;
  active = { client, scope, key };
  if (previous) void previous.client.close(CLOSE_REPLACED_MS);
  return true;
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

/** A fresh scope for one event, forked from the process's scope; `undefined` when Sentry is off. */
export function eventScope(): Scope | undefined {
  return active?.scope.clone();
}

/** True once {@link initSentry} started a client. */
export function isSentryActive(): boolean {
  return active !== undefined;
}

/**
 * Send what is queued, waiting at most `timeoutMs`. Call it before a worker exits and when a
 * pool stops. Resolves `true` when everything was sent, `false` on timeout or when Sentry is off.
 */
export async function flushSentry(timeoutMs: number): Promise<boolean> {
  const client = active?.client;
  return client ? within(timeoutMs, () => client.flush(timeoutMs)) : false;
}

/** Flush, then shut the client down (its timers and listeners); later captures are dropped. */
export async function closeSentry(timeoutMs: number): Promise<boolean> {
  const current = active;
  active = undefined;
  if (!current) return false;
  return within(timeoutMs, () => current.client.close(timeoutMs));
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
