/**
 * Errors rebuilt from their wire shape (serialized-error.ts makes it) in the process that
 * receives them, and the check of that shape at the parse boundary.
 */
import { MAX_CAUSE_DEPTH, type SerializedError } from './serialized-error.ts';

/** Keys of `props` never defined on the rebuilt error: fields of their own, or keys that reach a prototype. */
const RESERVED_PROPS = new Set(['name', 'message', 'stack', 'cause', '__proto__', 'constructor', 'prototype']);

/** The classes an error is rebuilt as, by its name, as structured clone does: `instanceof TypeError` holds in the parent too. */
const BUILT_IN_ERRORS: ReadonlyMap<string, (message: string) => Error> = new Map([
  ['TypeError', (m: string) => new TypeError(m)], ['RangeError', (m: string) => new RangeError(m)],
  ['SyntaxError', (m: string) => new SyntaxError(m)], ['ReferenceError', (m: string) => new ReferenceError(m)],
  ['EvalError', (m: string) => new EvalError(m)], ['URIError', (m: string) => new URIError(m)],
  ['AggregateError', (m: string) => new AggregateError([], m)],
]);

/** Rebuild an `Error` from its wire shape: a DOMException or a built-in class by its name, else an `Error`. The result's `name` is the remote one. */
export function deserializeError(data: SerializedError): Error {
  // A DOMException's name is its kind (its code follows from it), read from the instance's own slot.
  const err = data.dom ? new DOMException(data.message, data.name) : (BUILT_IN_ERRORS.get(data.name)?.(data.message) ?? new Error(data.message));
  if (!data.dom) define(err, 'name', data.name);
  define(err, 'stack', data.stack ?? `${data.name}: ${data.message}`);
  if (data.props) {
    for (const [key, value] of Object.entries(data.props)) {
      if (!RESERVED_PROPS.has(key)) define(err, ownKey(err, key), value, true);
    }
  }
  if (data.errors) define(err, 'errors', data.errors.map(deserializeError)); // over a prop of the same name: the aggregated ones are those
  if (data.cause) {
    define(err, 'cause', 'value' in data.cause ? data.cause.value : deserializeError(data.cause));
  }
  return err;
}

/**
 * Check the shape of an untrusted serialized error (the parse boundary calls this): nested no
 * deeper than `serializeError` nests one, so that rebuilding it cannot overflow the stack.
 */
export function isSerializedError(value: unknown, depth = 0): value is SerializedError {
  if (typeof value !== 'object' || value === null || depth > MAX_CAUSE_DEPTH) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.name === 'string' &&
    typeof v.message === 'string' &&
    (v.stack === undefined || typeof v.stack === 'string') &&
    (v.props === undefined || (typeof v.props === 'object' && v.props !== null)) &&
    (v.dom === undefined || v.dom === true) &&
    (v.errors === undefined || (Array.isArray(v.errors) && v.errors.every((e) => isSerializedError(e, depth + 1)))) &&
    (v.cause === undefined || isSerializedError(v.cause, depth + 1) || (typeof v.cause === 'object' && v.cause !== null && 'value' in v.cause))
  );
}

/**
 * The key a property is defined under: its own, but for one that would hide a method of the
 * error (`toString`, `valueOf`, `hasOwnProperty`...), whose value can be no function once sent:
 * `String(error)` would throw. That one is `own:toString`.
 */
function ownKey(err: Error, key: string): string {
  return typeof (err as unknown as Record<string, unknown>)[key] === 'function' ? `own:${key}` : key;
}

function define(target: object, key: string, value: unknown, enumerable = false): void {
  Object.defineProperty(target, key, { value, enumerable, writable: true, configurable: true });
}
