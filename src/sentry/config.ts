/**
 * Where a process's Sentry settings come from: the pool's `sentry` option, else the standard
 * `SENTRY_DSN` / `SENTRY_ENVIRONMENT` / `SENTRY_RELEASE` variables. The DSN is a secret: nothing
 * here ever puts it in an error message.
 */
import { readOptions } from '../internal/option-checks.ts';

const KEYS: ReadonlySet<string> = new Set(['dsn', 'environment', 'release']);

/** The pool's `sentry` option. */
export interface SentryOptions {
  /** Project DSN, e.g. `https://<key>@o1.ingest.sentry.io/<project>`. Default: `SENTRY_DSN`. */
  readonly dsn?: string | undefined;
  /** Default: `SENTRY_ENVIRONMENT`. */
  readonly environment?: string | undefined;
  /** Default: `SENTRY_RELEASE`. */
  readonly release?: string | undefined;
}

/** Resolved settings: Sentry is on exactly when one of these exists. */
export interface SentryConfig {
  readonly dsn: string;
  readonly environment?: string;
  readonly release?: string;
}

/**
 * `protocol://publicKey[:secret]@host[:port]/[path/]projectId` with the characters the SDK's own
 * parser accepts. Anything else would make the SDK print the whole DSN to stderr, so it never
 * reaches the SDK.
 */
const DSN = /^https?:\/\/\w+(?::\w*)?@(?:\[[:.%\w]+\]|[\w.-]+)(?::\d+)?\/(?:[^/?#\s]+\/)*\d+$/;

/** True when `value` is a DSN the Sentry SDK accepts (a port over 65535 passes the pattern, not the URL parser the SDK sends with). */
export function isSentryDsn(value: unknown): boolean {
  return typeof value === 'string' && DSN.test(value) && URL.canParse(value);
}

/**
 * The settings in effect for this process, or `undefined` when there is no DSN (Sentry off).
 * @throws {TypeError} when the DSN is malformed; the message describes it without quoting it.
 */
export function resolveSentryConfig(options: SentryOptions | undefined, env: NodeJS.ProcessEnv = process.env): SentryConfig | undefined {
  const dsn = nonEmpty(options?.dsn) ?? nonEmpty(env.SENTRY_DSN);
  if (dsn === undefined) return undefined;
  if (!isSentryDsn(dsn)) {
    const source = nonEmpty(options?.dsn) === undefined ? 'SENTRY_DSN' : '`sentry.dsn`';
    throw new TypeError(`Expected ${source} to be a Sentry DSN (https://<key>@<host>/<project id>), got a malformed string of ${dsn.length} characters`);
  }
  const environment = nonEmpty(options?.environment) ?? nonEmpty(env.SENTRY_ENVIRONMENT);
  const release = nonEmpty(options?.release) ?? nonEmpty(env.SENTRY_RELEASE);
  return { dsn, ...(environment === undefined ? {} : { environment }), ...(release === undefined ? {} : { release }) };
}

/**
 * The pool's `sentry` option: an object of known keys, each a string or left out (a typo such as
 * `dns` would have left Sentry off unnoticed). Values are never quoted: a DSN passed as the
 * option itself (`sentry: process.env.SENTRY_DSN`) is a secret too. Returns them read once
 * (readOptions), as a plain object: what is checked is what is used.
 * @throws {TypeError}
 */
export function checkSentryOptions(options: unknown): SentryOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    const what = options === null ? 'null' : Array.isArray(options) ? 'an array' : `a value of type ${typeof options}`;
    const hint = typeof options === 'string' ? ' (a DSN goes in `sentry: { dsn }`)' : '';
    throw new TypeError(`Expected \`sentry\` to be an object or false, got ${what}${hint}`);
  }
  const read = readOptions(options, KEYS, 'sentry.');
  for (const [key, value] of Object.entries(read)) {
    // The DSN is a secret: its type is said, never its value.
    if (typeof value !== 'string') throw new TypeError(`Expected \`sentry.${key}\` to be a string, got a value of type ${typeof value}`);
  }
  return read as SentryOptions;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
