/**
 * How serializeError (serialized-error.ts) reads and describes what an error holds: safely (a
 * getter or a Proxy that throws is described, never thrown) and in bounded time (a 50 MB Buffer is
 * not walked byte by byte).
 */

/** How deep {@link carriedByJson} looks; anything deeper (or a cycle) is described as a string. */
const MAX_JSON_DEPTH = 64;
/** Most characters `util.inspect` is asked to show of one string. */
const MAX_INSPECTED_STRING = 16 * 1024;
/** Values {@link carriedByJson} looks at: more would not fit 16K characters, and a DAG walked every path. */
export const MAX_JSON_NODES = MAX_INSPECTED_STRING;
/** Objects `util.inspect` may show (see {@link fewObjects}). */
const MAX_INSPECTED_OBJECTS = 2000;
/** How `util.inspect` describes a property JSON cannot carry: one line, bounded at every level. */
const INSPECT_OPTIONS = { depth: 4, maxArrayLength: 100, maxStringLength: MAX_INSPECTED_STRING, breakLength: Infinity, compact: true } as const;

/**
 * An Error of this realm (a Proxy of one included) or of another: one a `vm` context made (a
 * sandbox, a test environment) is no `instanceof Error` here, and is an error all the same.
 */
export function isError(value: unknown): value is Error {
  return value instanceof Error || process.getBuiltinModule('node:util').types.isNativeError(value);
}

/** `source[key]`, or a description of why it could not be read (a getter that throws). */
export function read(source: object, key: string): unknown {
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
export function carriedByJson(value: unknown, depth: number, nodes: { left: number }): boolean {
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
export function inspectValue(value: unknown): string {
  if (!fewObjects(value)) return `${tag(value)} (too large to show)`;
  // From getBuiltinModule, here: a worker's start files import no built-in as an ES module (bundle.config.mjs).
  const { inspect } = process.getBuiltinModule('node:util');
  try {
    return inspect(value, INSPECT_OPTIONS);
  } catch {
    try {
      return inspect(value, { ...INSPECT_OPTIONS, customInspect: false });
    } catch {
      return tag(value);
    }
  }
}

/**
 * Whether `util.inspect` would meet at most MAX_INSPECTED_OBJECTS objects within its depth, shared
 * ones each time (as it shows them): own enumerable values, map and set entries. Getters are not
 * run, nor a Proxy's traps (inspect shows its target: not walked here). False if it cannot tell.
 * Only what inspect shows is walked: the first `maxArrayLength` items of an array, a Map or a Set,
 * and nothing of a typed array, a Buffer or an ArrayBuffer (numbers only, which inspect cuts the
 * same way): listing the keys of a 50 MB Buffer made a string of each of its 50M indices, for
 * seconds and gigabytes.
 */
function fewObjects(value: unknown): boolean {
  const { isProxy, isAnyArrayBuffer } = process.getBuiltinModule('node:util').types;
  let left = MAX_INSPECTED_OBJECTS;
  const visit = (v: unknown, depth: number): boolean => {
    if (typeof v !== 'object' || v === null) return true;
    if (--left < 0) return false;
    if (depth >= INSPECT_OPTIONS.depth || isProxy(v) || ArrayBuffer.isView(v) || isAnyArrayBuffer(v)) return true;
    if (v instanceof Map) {
      for (const [k, x] of shownItems(v)) if (!visit(k, depth + 1) || !visit(x, depth + 1)) return false;
    } else if (v instanceof Set) {
      for (const x of shownItems(v)) if (!visit(x, depth + 1)) return false;
    }
    for (const key of ownKeys(v)) {
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

/** The items of a Map or a Set that inspect shows: the first `maxArrayLength`. */
function* shownItems<T>(items: Iterable<T>): Generator<T> {
  let n = 0;
  for (const item of items) {
    if (n++ >= INSPECT_OPTIONS.maxArrayLength) return;
    yield item;
  }
}

/**
 * The keys {@link fewObjects} walks: an object's own enumerable ones, an array's first items.
 * A long array's named properties (rare) are not looked for: only a list of all its indices has them.
 */
function ownKeys(v: object): string[] {
  if (!Array.isArray(v)) return Object.keys(v);
  if (v.length > MAX_INSPECTED_OBJECTS) return Array.from({ length: INSPECT_OPTIONS.maxArrayLength }, (_, i) => String(i));
  return Object.keys(v).filter((key) => !/^\d+$/.test(key) || Number(key) < INSPECT_OPTIONS.maxArrayLength);
}

/** A string for any value: a function by its name, never its source. Never throws. */
export function describe(value: unknown): string {
  try {
    if (typeof value === 'function') return `[Function: ${value.name || 'anonymous'}]`;
    if (isError(value)) return `${String(value.name)}: ${String(value.message)}`;
    return typeof value === 'symbol' ? value.toString() : String(value);
  } catch {
    return tag(value);
  }
}

/**
 * A string that shows a value to a reader: a primitive as {@link describe} gives it, an object
 * by its own `toString()` when its class has one that says something (a URL, a Date, an Error),
 * else as `util.inspect` shows it (`{ detail: 'quota exceeded' }`, not `[object Object]`).
 */
export function readable(value: unknown): string {
  if (typeof value !== 'object' || value === null) return describe(value);
  return hasOwnText(value) ? describe(value) : inspectValue(value);
}

/** A toString() other than Object's, and not an array's or a typed array's (which join every item). */
function hasOwnText(value: object): boolean {
  try {
    const { toString } = value as { toString?: unknown };
    return typeof toString === 'function' && toString !== Object.prototype.toString && !Array.isArray(value) && !ArrayBuffer.isView(value);
  } catch {
    return false; // a getter, a Proxy: inspect shows it without running either
  }
}

/** `[object Map]`: what a value is, in constant time. Never throws. */
function tag(value: unknown): string {
  try {
    return Object.prototype.toString.call(value); // reads Symbol.toStringTag, which may throw too
  } catch {
    return `[${typeof value}]`;
  }
}

/** A DOMException of this realm (no other has the class: a vm context has none); false for a value whose prototype cannot be read. */
export function isDomException(value: object): boolean {
  try {
    return value instanceof DOMException;
  } catch {
    return false;
  }
}
