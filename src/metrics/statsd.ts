/**
 * The hot-shots client behind the reporters: made from options (UDP to 127.0.0.1:8125 by
 * default) or the user's own client. Errors from a host that is down or does not resolve are
 * reported once and never thrown; a host name is looked up once at a time (dns-lookup.ts); a TCP
 * connection of ours that closes is made again, and one whose server reads nothing holds a bounded
 * backlog (tcp-keeper.ts);
 * closing is bounded by a timeout because hot-shots' TCP `close()` can wait forever for a server
 * that is gone.
 */
import type { ClientOptions, StatsD } from 'hot-shots';
import { lazyRequire } from '../internal/lazy-require.ts';
import { notOptionsObject } from '../internal/known-keys.ts';
import { readOptions, show, unreadable } from '../internal/option-checks.ts';
import { settleWithin } from '../internal/settle-within.ts';

const hotShots = lazyRequire<{ StatsD: new (options: ClientOptions) => StatsD }>('hot-shots');
import { sanitizePath } from './names.ts';
import { readCreateStatsdOptions } from './option-checks.ts';
import { reportOnce, stderrSink, type ErrorSink, type OnceSink } from './report-once.ts';
import { sharedLookup } from './dns-lookup.ts';
import { keepTcpConnected, type TcpKeeper } from './tcp-keeper.ts';

/**
 * How to reach statsd. Everything here is plain data, so the pool can hand the same settings to
 * its worker processes.
 */
export interface StatsdOptions {
  /** statsd (or DogStatsD agent, or Telegraf) host. Never read from `DD_AGENT_HOST`. @default '127.0.0.1' */
  host?: string | undefined;
  /** @default 8125 */
  port?: number | undefined;
  /** First segment(s) of every metric name; `''` for none. @default 'looppool' */
  prefix?: string | undefined;
  /** Tags added to every metric (`{ env: 'prod' }` or `['env:prod']`); only tag-aware servers use them. @default {} */
  globalTags?: Readonly<Record<string, string>> | readonly string[] | undefined;
  /** `'udp'` (fire and forget) or `'tcp'`. @default 'udp' */
  protocol?: 'udp' | 'tcp' | undefined;
  /** Telegraf's tag syntax (`name,tag=v:1|g`) instead of DogStatsD's (`name:1|g|#tag:v`). @default false */
  telegraf?: boolean | undefined;
  /** DogStatsD extras: container id, client telemetry, and `DD_ENV`/`DD_SERVICE`/`DD_VERSION`/`DD_TAGS` as tags. @default false */
  datadog?: boolean | undefined;
  /**
   * Put the pool name and worker number in tags (`looppool.worker.cpu #pool:demo,worker:3`)
   * rather than in the path (`looppool.demo.worker.3.cpu`).
   * @default telegraf || datadog
   */
  tags?: boolean | undefined;
  /**
   * Bytes batched into one packet; 1432 fits an Ethernet MTU with room for IP/UDP headers; `0`
   * sends one packet per metric. At most 65507 over UDP (the most one datagram carries); no bound
   * over TCP, a stream. @default 1432
   */
  maxBufferSize?: number | undefined;
  /** No socket: lines collect in `client.mockBuffer` (for tests). @default false */
  mock?: boolean | undefined;
}

/** {@link StatsdOptions} with every default filled in (JSON-serialisable). */
export interface ResolvedStatsdOptions {
  readonly host: string;
  readonly port: number;
  readonly prefix: string;
  readonly globalTags: Record<string, string> | string[];
  readonly protocol: 'udp' | 'tcp';
  readonly telegraf: boolean;
  readonly datadog: boolean;
  readonly tags: boolean;
  readonly maxBufferSize: number;
  readonly mock: boolean;
}

export const DEFAULT_STATSD_OPTIONS = Object.freeze({
  host: '127.0.0.1',
  port: 8125,
  prefix: 'looppool',
  protocol: 'udp' as 'udp' | 'tcp',
  telegraf: false,
  datadog: false,
  maxBufferSize: 1432,
  mock: false,
});

/**
 * The most one UDP datagram carries over IPv4: 65,535 bytes less the IP and UDP headers. hot-shots
 * sends a full buffer as one datagram, and the kernel refuses a larger one (EMSGSIZE): every batch
 * above it would be lost whole.
 */
export const MAX_UDP_PAYLOAD = 65_507;

/** How long a close waits for sends still under way (a TCP connection or a DNS answer still to come), ms: what hot-shots' own wait was (11 x its 50 ms). */
const CONNECT_WAIT = 550;
/** Default close timeout, ms. */
const CLOSE_TIMEOUT = 2000;

/** The client the reporters write to, and how to let go of it. */
export interface StatsdHandle {
  readonly client: StatsD;
  /** Pool and worker go in tags (true) or in the metric path (false). */
  readonly tags: boolean;
  /** Settings a worker process can rebuild an equivalent client from; undefined if it cannot (a UDS or stream client). */
  readonly config: ResolvedStatsdOptions | undefined;
  /** Errors the client reported so far (only the first reached `onError`); always 0 for a client you passed in. */
  readonly errorCount: number;
  /** TCP connections made after the first one closed (see tcp-keeper.ts); always 0 over UDP and for a client you passed in. */
  readonly reconnects: number;
  /** Flush, and close the socket if this handle created it (a client you passed in is only flushed). Never rejects; gives up after `timeout` ms. */
  close(timeout?: number): Promise<void>;
}

export interface CreateStatsdOptions {
  /** Gets the first send/DNS/socket error of the client (later ones are only counted). @default a line on stderr */
  onError?: ErrorSink | undefined;
  /** Overrides {@link StatsdOptions.tags} (and the guess made for a client you pass in). */
  tags?: boolean | undefined;
}

/** True for a hot-shots client (or anything with the methods looppool calls: gauge, increment, timing, flush). */
export function isStatsdClient(value: unknown): value is StatsD {
  if (typeof value !== 'object' || value === null) return false;
  const client = value as Partial<Record<'gauge' | 'increment' | 'timing' | 'flush', unknown>>;
  try {
    return typeof client.gauge === 'function' && typeof client.increment === 'function' && typeof client.timing === 'function' && typeof client.flush === 'function';
  } catch {
    return false; // a getter or a Proxy that throws: no client; read as options, it is a TypeError there
  }
}

/**
 * A statsd handle from options or from your own hot-shots client.
 *
 * @throws {TypeError} when an option has the wrong type or range.
 * @example
 * ```ts
 * const statsd = createStatsd({ host: 'statsd.internal', prefix: 'myapp' });
 * const reporter = new ResourceReporter(statsd.client, 'api');
 * ```
 */
export function createStatsd(input: StatsD | StatsdOptions, options: CreateStatsdOptions = {}): StatsdHandle {
  const o = readCreateStatsdOptions(options); // each option read once
  if (isStatsdClient(input)) {
    const config = describeClient(input);
    const tags = o.tags ?? (config?.tags ?? false);
    return makeHandle(input, false, tags, config === undefined ? undefined : { ...config, tags }, undefined);
  }
  const resolved = resolveStatsdOptions(input, o.tags);
  const onError = reportOnce(o.onError ?? stderrSink(`statsd ${resolved.host}:${resolved.port}`));
  const client = new (hotShots().StatsD)(clientOptions(resolved, onError));
  const keeper = resolved.protocol === 'tcp' && !resolved.mock ? keepTcpConnected(client, onError) : undefined;
  return makeHandle(client, true, resolved.tags, resolved, onError, keeper);
}

/** The hot-shots options for resolved settings; `datadog` and `includeDataDogTags` are always explicit so `DD_*` variables cannot change the wire format. */
export function clientOptions(resolved: ResolvedStatsdOptions, onError: ErrorSink): ClientOptions {
  return {
    host: resolved.host,
    port: resolved.port,
    prefix: resolved.prefix,
    globalTags: resolved.globalTags,
    protocol: resolved.protocol,
    telegraf: resolved.telegraf,
    datadog: resolved.telegraf ? false : resolved.datadog,
    includeDataDogTags: resolved.datadog,
    maxBufferSize: resolved.maxBufferSize,
    // Not hot-shots' cacheDns, which started a lookup per packet while none was cached (dns-lookup.ts).
    cacheDns: false,
    // hot-shots' socket type: IPv6 for an IPv6 address, else IPv4 (a host name is looked up as IPv4).
    udpSocketOptions: { type: process.getBuiltinModule('node:net').isIP(resolved.host) === 6 ? 'udp6' : 'udp4', lookup: sharedLookup() },
    mock: resolved.mock,
    errorHandler: onError,
  };
}

/** The keys of {@link StatsdOptions}: any other is a typo (it would be ignored, and the default used). */
const STATSD_KEYS: ReadonlySet<string> = new Set(['host', 'port', 'prefix', 'globalTags', 'protocol', 'telegraf', 'datadog', 'tags', 'maxBufferSize', 'mock']);

/**
 * Check statsd options and fill in the defaults. Pure. Each option is read once (readOptions): a
 * hot-shots client never gets here (isStatsdClient first), so no client's fields are read as options.
 * @param tags overrides `input.tags` (createStatsd's own `tags` option)
 * @throws {TypeError} naming the option and the value, e.g. "Expected `statsd.port` to be an integer from 1 to 65535, got `0` (number)".
 */
export function resolveStatsdOptions(options: StatsdOptions, tags?: boolean): ResolvedStatsdOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new TypeError(`Expected \`statsd\` to be a hot-shots client or an options object, got ${show(options)}`);
  const hint = ` (a hot-shots client is recognised by its methods gauge, increment, timing and flush; options are ${[...STATSD_KEYS].join(', ')})`;
  const input = readOptions(options, STATSD_KEYS, 'statsd.', hint) as StatsdOptions;
  const d = DEFAULT_STATSD_OPTIONS;
  const host = input.host ?? d.host;
  if (typeof host !== 'string' || host === '') throw new TypeError(`Expected \`statsd.host\` to be a non-empty string, got ${show(host)}`);
  const port = input.port ?? d.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError(`Expected \`statsd.port\` to be an integer from 1 to 65535, got ${show(port)}`);
  const prefix = input.prefix ?? d.prefix;
  if (typeof prefix !== 'string') throw new TypeError(`Expected \`statsd.prefix\` to be a string, got ${show(prefix)}`);
  const protocol = input.protocol ?? d.protocol;
  if (protocol !== 'udp' && protocol !== 'tcp') throw new TypeError(`Expected \`statsd.protocol\` to be 'udp' or 'tcp', got ${show(protocol)}`);
  let globalTags: ReturnType<typeof copyTags>;
  try {
    globalTags = copyTags(input.globalTags ?? {});
  } catch (error) {
    throw unreadable('statsd.globalTags', error); // a getter or a Proxy's trap in the tags
  }
  if (globalTags === undefined) throw new TypeError(`Expected \`statsd.globalTags\` to be an object of strings or an array of strings, got ${show(input.globalTags)}`);
  const maxBufferSize = input.maxBufferSize ?? d.maxBufferSize;
  if (!Number.isInteger(maxBufferSize) || maxBufferSize < 0) throw new TypeError(`Expected \`statsd.maxBufferSize\` to be an integer >= 0, got ${show(maxBufferSize)}`);
  if (protocol === 'udp' && maxBufferSize > MAX_UDP_PAYLOAD) {
    throw new TypeError(`Expected \`statsd.maxBufferSize\` to be at most ${MAX_UDP_PAYLOAD} over UDP (the most one datagram carries), got ${show(maxBufferSize)}`);
  }
  const telegraf = flag('telegraf', input.telegraf ?? d.telegraf);
  const datadog = flag('datadog', input.datadog ?? d.datadog);
  return {
    host,
    port,
    prefix: sanitizePath(prefix),
    globalTags,
    protocol,
    telegraf,
    datadog,
    tags: flag('tags', tags ?? input.tags ?? (telegraf || datadog)),
    maxBufferSize,
    mock: flag('mock', input.mock ?? d.mock),
  };
}

/** Settings equivalent to a hot-shots client's, read from its (untyped) public fields; undefined for UDS/stream clients. */
function describeClient(client: StatsD): ResolvedStatsdOptions | undefined {
  const c = client as unknown as Partial<{
    host: string; port: number; prefix: string; globalTags: string[]; protocol: string; telegraf: boolean; datadog: boolean;
    maxBufferSize: number; mock: boolean;
  }>;
  const protocol = c.protocol ?? 'udp';
  if (protocol !== 'udp' && protocol !== 'tcp') return undefined;
  const telegraf = c.telegraf === true;
  const datadog = c.datadog === true;
  return {
    host: typeof c.host === 'string' && c.host !== '' ? c.host : DEFAULT_STATSD_OPTIONS.host,
    port: typeof c.port === 'number' ? c.port : DEFAULT_STATSD_OPTIONS.port,
    prefix: typeof c.prefix === 'string' ? c.prefix.replace(/\.$/, '') : '',
    globalTags: Array.isArray(c.globalTags) ? [...c.globalTags] : [],
    protocol,
    telegraf,
    datadog,
    tags: telegraf || datadog,
    // A worker rebuilds the client with resolveStatsdOptions, which refuses more than a datagram over UDP.
    maxBufferSize: typeof c.maxBufferSize === 'number' && c.maxBufferSize > 0 ? Math.min(c.maxBufferSize, protocol === 'udp' ? MAX_UDP_PAYLOAD : Infinity) : DEFAULT_STATSD_OPTIONS.maxBufferSize,
    mock: c.mock === true,
  };
}

function makeHandle(
  client: StatsD, owned: boolean, tags: boolean, config: ResolvedStatsdOptions | undefined, errors: OnceSink | undefined, keeper?: TcpKeeper,
): StatsdHandle {
  let closing: Promise<void> | undefined;
  return {
    client,
    tags,
    config,
    get errorCount() {
      return errors?.count ?? 0;
    },
    get reconnects() {
      return keeper?.reconnects ?? 0;
    },
    close(timeout = CLOSE_TIMEOUT) {
      // A TCP socket that has closed (refused, dropped) takes nothing more, and hot-shots' close()
      // never calls back then: not waited for (every stop with statsd down took the whole bound).
      const bound = keeper?.down === true ? 0 : timeout;
      keeper?.stop();
      closing ??= settleWithin(bound, (done) => {
        if (!owned) return client.flush(() => done());
        // Sends still under way (a connection or a DNS answer still to come, a server that reads
        // nothing): hot-shots waited for them, then printed in every process that it gave up on
        // them. They get the time it gave them; what is under way then cannot arrive in time.
        afterSends(client, Math.min(bound / 2, CONNECT_WAIT), () => {
          (client as unknown as SendCount).messagesInFlight = 0;
          client.close(() => done());
        });
      });
      return closing;
    },
  };
}

/** hot-shots' count of the sends whose callback has not come, and the promise it resolves when the count comes to 0 (public, untyped). */
interface SendCount {
  messagesInFlight: number;
  drainPromise?: Promise<void> | null;
}

/** Call `then` once `client` has no send under way, or after `ms`: at once when it has none. */
function afterSends(client: StatsD, ms: number, then: () => void): void {
  const { messagesInFlight, drainPromise } = client as unknown as SendCount;
  if (!(messagesInFlight > 0) || drainPromise == null) return then();
  let called = false;
  const settle = (): void => {
    if (called) return;
    called = true;
    clearTimeout(timer);
    then();
  };
  const timer = setTimeout(settle, ms);
  drainPromise.then(settle, settle);
}

/** A copy of `value` when it is tags (an object of strings or an array of strings), checked as copied: each tag is read once. */
function copyTags(value: unknown): Record<string, string> | string[] | undefined {
  let copy: Record<string, unknown> | unknown[];
  if (Array.isArray(value)) copy = Array.from(value as unknown[]);
  // A Map or a Set holds no own keys: its tags were lost.
  else if (typeof value === 'object' && value !== null && notOptionsObject(value) === undefined) copy = { ...value };
  else return undefined;
  return Object.values(copy).every((v) => typeof v === 'string') ? (copy as Record<string, string> | string[]) : undefined;
}

function flag(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`Expected \`statsd.${name}\` to be a boolean, got ${show(value)}`);
  return value;
}
