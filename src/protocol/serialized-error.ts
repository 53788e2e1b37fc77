/**
 * Errors as they cross the process boundary. `serializeError` runs in the process where the
 * error was thrown, `deserializeError` in the one that receives it; together they keep the
 * name, message, stack, `code` and other own properties, and the `cause` chain.
 */

/** The wire shape of an error. Own properties that cannot be carried become strings. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  props?: Record<string, unknown>;
  cause?: SerializedError | { value: unknown };
}

const MAX_CAUSE_DEPTH = 5;
const SKIPPED_PROPS = new Set(['name', 'message', 'stack', 'cause', '__proto__', 'constructor', 'prototype']);

/** Turn anything thrown (an `Error` or not) into a {@link SerializedError}. Never throws. */
export function serializeError(thrown: unknown, depth = 0): SerializedError {
  if (!(thrown instanceof Error)) {
    return { name: 'NonError', message: describe(thrown) };
  }
  const out: SerializedError = { name: safeString(thrown.name, 'Error'), message: safeString(thrown.message, '') };
  if (typeof thrown.stack === 'string') out.stack = thrown.stack;
  const props = ownProps(thrown);
  if (props) out.props = props;
  if ('cause' in thrown && thrown.cause !== undefined && depth < MAX_CAUSE_DEPTH) {
    out.cause = thrown.cause instanceof Error ? serializeError(thrown.cause, depth + 1) : { value: plain(thrown.cause) };
  }
  return out;
}

/** Rebuild an `Error` from its wire shape. The result's `name` is the remote one. */
export function deserializeError(data: SerializedError): Error {
  const err = new Error(data.message);
  define(err, 'name', data.name);
  define(err, 'stack', data.stack ?? `${data.name}: ${data.message}`);
  if (data.props) {
    for (const [key, value] of Object.entries(data.props)) {
      if (!SKIPPED_PROPS.has(key)) define(err, key, value, true);
    }
  }
  if (data.cause) {
    define(err, 'cause', 'value' in data.cause ? data.cause.value : deserializeError(data.cause));
  }
  return err;
}

/** Check the shape of an untrusted serialized error (the parse boundary calls this). */
export function isSerializedError(value: unknown): value is SerializedError {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.name === 'string' &&
    typeof v.message === 'string' &&
    (v.stack === undefined || typeof v.stack === 'string') &&
    (v.props === undefined || (typeof v.props === 'object' && v.props !== null)) &&
    (v.cause === undefined || isSerializedError(v.cause) || (typeof v.cause === 'object' && v.cause !== null && 'value' in v.cause))
  );
}

function ownProps(err: Error): Record<string, unknown> | undefined {
  let props: Record<string, unknown> | undefined;
  for (const key of Object.keys(err)) {
    if (SKIPPED_PROPS.has(key)) continue;
    props ??= Object.create(null) as Record<string, unknown>;
    props[key] = plain((err as unknown as Record<string, unknown>)[key]);
  }
  return props;
}

/** Keep JSON-friendly values as they are; describe anything else as a string. */
function plain(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'object':
      if (value === null) return null;
      try {
        return JSON.parse(JSON.stringify(value)) as unknown;
      } catch {
        return describe(value);
      }
    default:
      return describe(value);
  }
}

function describe(value: unknown): string {
  try {
    return typeof value === 'symbol' ? value.toString() : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function safeString(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function define(target: object, key: string, value: unknown, enumerable = false): void {
  Object.defineProperty(target, key, { value, enumerable, writable: true, configurable: true });
}
