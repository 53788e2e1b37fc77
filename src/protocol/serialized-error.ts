/**
 * Errors as they cross the process boundary. `serializeError` runs in the process where the
 * error was thrown, `deserializeError` (deserialize-error.ts) in the one that receives it;
 * together they keep the name, message, stack, `code` and other own properties, an
 * AggregateError's `errors`, and the `cause` chain. Whatever was thrown, the result is bounded in size and reading it never throws.
 */

/**
 * The wire shape of an error. Own properties JSON cannot carry exactly become strings (see
 * {@link carriedByJson}).
 */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  props?: Record<string, unknown>;
  /** An AggregateError's `errors` (the first {@link MAX_AGGREGATED}). */
  errors?: SerializedError[];
  /** A DOMException (AbortSignal.timeout()'s reason, fetch's abort...): rebuilt as one. Its name alone could be any class's. */
  dom?: true;
  cause?: SerializedError | { value: unknown };
}

/** Causes (and aggregated errors) one serialized error nests at most; the parse boundary refuses deeper. */
export const MAX_CAUSE_DEPTH = 5;
const MAX_AGGREGATED = 20;
/** Errors one serialized error holds at most, itself, its causes and aggregated errors included. */
const MAX_ERRORS = 50;
/**
 * Characters of text (message, stack, properties) one serialized error may hold, causes and
 * aggregated errors included: at 6 bytes a character once escaped, under the 1 MiB the parent
 * reads beyond `maxMessageBytes`, whatever that is. Longer text is cut, and says so.
 */
const ERROR_TEXT_BUDGET = 128 * 1024;
/** Most of the budget one message, or one property, may take (the stack gets the rest). */
const MAX_FIELD = 16 * 1024;
/** A property's name is cut to this; each property is charged its name and PROP_COST more (quotes, colon, a small value). */
const MAX_KEY = 200;
const PROP_COST = 32;
/** How deep {@link carriedByJson} looks; anything deeper (or a cycle) is described as a string. */
const MAX_JSON_DEPTH = 64;
/** Values {@link carriedByJson} looks at, objects `util.inspect` may show: more would not fit 16K characters, and a DAG walked every path. */
const MAX_NODES = MAX_FIELD;
const MAX_INSPECTED_OBJECTS = 2000;
/** How `util.inspect` describes a property JSON cannot carry: one line, bounded at every level. */
const INSPECT_OPTIONS = { depth: 4, maxArrayLength: 100, maxStringLength: MAX_FIELD, breakLength: Infinity, compact: true } as const;
/** Properties sent as fields of their own (or never), not as `props`. An error's `errors` is one of its props but for an AggregateError's. */
const SKIPPED_PROPS = new Set(['name', 'message', 'stack', 'cause', '__proto__', 'constructor', 'prototype']);

/** Turn anything thrown (an `Error` or not) into a {@link SerializedError}. Never throws. */
export function serializeError(thrown: unknown): SerializedError {
  try {
    return new ErrorWriter().write(thrown, 0);
  } catch (err) {
    // A Proxy, a revoked one, a getter on the prototype... described, never thrown to the caller.
    return { name: 'Error', message: `the error could not be read (${describe(err)})` };
  }
}

class ErrorWriter {
  #left = ERROR_TEXT_BUDGET;
  #errors = 0;

  write(thrown: unknown, depth: number): SerializedError {
    this.#errors++;
    if (!isError(thrown)) return this.#nonError(thrown, depth);
    const message = read(thrown, 'message'); // a string but for one assigned after the fact (`err.message = 404`): described
    const out: SerializedError = { name: this.#text(read(thrown, 'name'), 'Error', 200), message: this.#text(message === undefined ? '' : typeof message === 'string' ? message : describe(message), '', MAX_FIELD) };
    const stack = read(thrown, 'stack');
    if (typeof stack === 'string') out.stack = this.#text(stack, '', this.#left);
    const errors = read(thrown, 'errors');
    // Another realm's AggregateError (a vm context's) is known by its name.
    const aggregated = (thrown instanceof AggregateError || (!(thrown instanceof Error) && out.name === 'AggregateError')) && Array.isArray(errors);
    const props = this.#props(thrown, aggregated);
    if (props) out.props = props;
    if (isDomException(thrown)) out.dom = true;
    if (aggregated && depth < MAX_CAUSE_DEPTH) {
      out.errors = [];
      for (const e of errors.slice(0, MAX_AGGREGATED)) if (this.#errors < MAX_ERRORS) out.errors.push(this.write(e, depth + 1));
    }
    this.#cause(out, thrown, depth);
    return out;
  }

  /**
   * A thrown string, number, plain object...: `NonError`, with an object's `message`, `stack` (a
   * string), own properties and `cause` kept.
   */
  #nonError(thrown: unknown, depth: number): SerializedError {
    if (typeof thrown !== 'object' || thrown === null) return { name: 'NonError', message: this.#text(describe(thrown), '', MAX_FIELD) };
    const message = read(thrown, 'message');
    const out: SerializedError = { name: 'NonError', message: this.#text(typeof message === 'string' ? message : describe(thrown), '', MAX_FIELD) };
    const stack = read(thrown, 'stack');
    if (typeof stack === 'string') out.stack = this.#text(stack, '', this.#left);
    const props = this.#props(thrown);
    if (props) out.props = props;
    this.#cause(out, thrown, depth);
    return out;
  }

  #cause(out: SerializedError, source: object, depth: number): void {
    const cause = read(source, 'cause');
    if (cause !== undefined && depth < MAX_CAUSE_DEPTH && this.#errors < MAX_ERRORS) {
      out.cause = isError(cause) ? this.write(cause, depth + 1) : { value: this.#plain(cause) };
    }
  }

  /** Its own enumerable properties, as many as the budget holds (a Proxy that cannot list them has none). */
  #props(source: object, aggregated = false): Record<string, unknown> | undefined {
    let keys: string[];
    try {
      keys = Object.keys(source);
    } catch {
      return undefined;
    }
    let props: Record<string, unknown> | undefined;
    for (const key of keys) {
      if (SKIPPED_PROPS.has(key) || (aggregated && key === 'errors')) continue;
      // Each property costs its name and a few characters of JSON whatever its value: thousands of
      // small ones must not pass the budget either.
      const name = key.length > MAX_KEY ? key.slice(0, MAX_KEY) : key;
      if (this.#left < name.length + PROP_COST) break;
      this.#left -= name.length + PROP_COST;
      props ??= Object.create(null) as Record<string, unknown>;
      try {
        props[name] = this.#plain(read(source, key));
      } catch (err) {
        props[name] = `[${name} could not be read: ${describe(err)}]`; // this property only: the error keeps the rest
      }
    }
    return props;
  }

  /**
   * Keep a value JSON carries exactly as it is, within the budget; describe anything else as a
   * string: a top-level number, bigint, function or symbol by `String()` (`'NaN'`, `'7'`,
   * `'[Function: f]'`), an object JSON would alter (a NaN or an undefined inside, a Map, a
   * class instance, a cycle...) as `util.inspect` shows it, never half-converted.
   */
  #plain(value: unknown): unknown {
    switch (typeof value) {
      case 'string':
        return this.#text(value, '', MAX_FIELD);
      case 'boolean':
        return value;
      case 'number':
        return Number.isFinite(value) ? value : String(value);
      case 'object': {
        if (value === null) return null;
        let json: string | undefined;
        try {
          if (carriedByJson(value, 0, { left: MAX_NODES })) json = JSON.stringify(value);
        } catch {
          // A getter or a Proxy that throws: described below.
        }
        if (json === undefined) return this.#text(inspectValue(value), '', MAX_FIELD);
        if (json.length > Math.min(MAX_FIELD, this.#left)) return this.#text(json, '', MAX_FIELD);
        this.#left -= json.length;
        return JSON.parse(json) as unknown;
      }
      default:
        return this.#text(describe(value), '', MAX_FIELD);
    }
  }

  /** `value` if it is a string (else `fallback`), cut to `cap` and to what is left of the budget. */
  #text(value: unknown, fallback: string, cap: number): string {
    const text = typeof value === 'string' ? value : fallback;
    const room = Math.max(0, Math.min(cap, this.#left));
    // A cut between the two halves of a surrogate pair would leave half a character: cut before it.
    const end = room > 0 && isHighSurrogate(text.charCodeAt(room - 1)) ? room - 1 : room;
    const kept = text.length <= room ? text : `${text.slice(0, end)}... [${text.length - end} more characters cut]`;
    this.#left -= Math.min(kept.length, this.#left);
    return kept;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * An Error of this realm (a Proxy of one included) or of another: one a `vm` context made (a
 * sandbox, a test environment) is no `instanceof Error` here, and is an error all the same.
 */
function isError(value: unknown): value is Error {
  return value instanceof Error || process.getBuiltinModule('node:util').types.isNativeError(value);
}

/** `source[key]`, or a description of why it could not be read (a getter that throws). */
function read(source: object, key: string): unknown {
  try {
    return (source as Record<string, unknown>)[key];
  } catch (err) {
    return `[${key} could not be read: ${describe(err)}]`;
  }
}

/**
 * True when `JSON.parse(JSON.stringify(value))` gives `value` back, but for what the guide says
 * changes on the way: a valid `Date` becomes its ISO string, a nested `-0` becomes `0`. Plain
 * objects (no `toJSON`) and plain arrays of strings, finite numbers, booleans and `null` only,
 * at most {@link MAX_JSON_DEPTH} deep (a cycle is deeper). Like JSON, it reads enumerable string
 * keys only. May throw (a getter, a Proxy): the caller catches.
 */
function carriedByJson(value: unknown, depth: number, nodes: { left: number }): boolean {
  if (--nodes.left < 0) return false;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (depth >= MAX_JSON_DEPTH) return false;
      if (Array.isArray(value)) {
        // A subclass, or a toJSON of its own, is not plain data (a hole reads as undefined).
        if ((value as { constructor?: unknown }).constructor !== Array || (value as { toJSON?: unknown }).toJSON !== undefined) return false;
        for (let i = 0; i < value.length; i++) if (!carriedByJson(value[i], depth + 1, nodes)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto === Date.prototype) return !Object.hasOwn(value, 'toJSON') && !Number.isNaN((value as Date).getTime());
      if (proto !== Object.prototype && proto !== null) return false;
      if ((value as { toJSON?: unknown }).toJSON !== undefined) return false;
      for (const key in value) if (!carriedByJson((value as Record<string, unknown>)[key], depth + 1, nodes)) return false;
      return true;
    }
    default:
      return false;
  }
}

/**
 * `util.inspect`'s one-line view of `value` (getters shown as `[Getter]`, not run; a Proxy's
 * target, its traps not run), without the value's own `[util.inspect.custom]` if that throws.
 */
function inspectValue(value: unknown): string {
  if (!fewObjects(value)) return `${describe(value)} (too large to show)`;
  // From getBuiltinModule, here: a worker's start files import no built-in as an ES module (bundle.config.mjs).
  const { inspect } = process.getBuiltinModule('node:util');
  try {
    return inspect(value, INSPECT_OPTIONS);
  } catch {
    try {
      return inspect(value, { ...INSPECT_OPTIONS, customInspect: false });
    } catch {
      return describe(value);
    }
  }
}

/**
 * Whether `util.inspect` would meet at most MAX_INSPECTED_OBJECTS objects within its depth, shared
 * ones each time (as it shows them): own enumerable values, map and set entries. Getters are not
 * run, nor a Proxy's traps (inspect shows its target: not walked here). False if it cannot tell.
 */
function fewObjects(value: unknown): boolean {
  const { isProxy } = process.getBuiltinModule('node:util').types;
  let left = MAX_INSPECTED_OBJECTS;
  const visit = (v: unknown, depth: number): boolean => {
    if (typeof v !== 'object' || v === null) return true;
    if (--left < 0) return false;
    if (depth >= INSPECT_OPTIONS.depth || isProxy(v)) return true;
    if (v instanceof Map) {
      for (const [k, x] of v) if (!visit(k, depth + 1) || !visit(x, depth + 1)) return false;
    } else if (v instanceof Set) {
      for (const x of v) if (!visit(x, depth + 1)) return false;
    }
    for (const key of Object.keys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, key);
      if (d && 'value' in d && !visit(d.value, depth + 1)) return false;
    }
    return true;
  };
  try {
    return visit(value, 0);
  } catch {
    return false;
  }
}

/** A string for any value: a function by its name, never its source. Never throws. */
function describe(value: unknown): string {
  try {
    if (typeof value === 'function') return `[Function: ${value.name || 'anonymous'}]`;
    if (isError(value)) return `${String(value.name)}: ${String(value.message)}`;
    return typeof value === 'symbol' ? value.toString() : String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value); // reads Symbol.toStringTag, which may throw too
    } catch {
      return `[${typeof value}]`;
    }
  }
}

/** A DOMException of this realm (no other has the class: a vm context has none); false for a value whose prototype cannot be read. */
function isDomException(value: object): boolean {
  try {
    return value instanceof DOMException;
  } catch {
    return false;
  }
}
