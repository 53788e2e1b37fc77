/**
 * Decides how a value crosses the channel. Plain JSON data (the common case) takes the fast
 * path, checked by an allocation-free walk; everything else is walked again in full, and is
 * either carried by V8's structured clone (Map, Set, Date, BigInt, typed arrays, Buffers,
 * errors, undefined, NaN, cycles…) or refused with the path of the offending value.
 * Nothing is silently altered but the named properties of an array of plain data, which the
 * fast walk does not look for (listing an array's keys costs as much as its JSON; the guide says
 * so), and the identity of a plain object reached twice (not a cycle), which arrives as two equal
 * copies (a set of the objects seen made the walk six times slower; the guide says so too).
 */
import { SerializationError } from '../errors.ts';

/** How deep the fast walk goes before it hands over to the full walk. */
const FAST_DEPTH = 64;
/** Deepest structure accepted at all (V8's serializer recurses on the stack). */
export const MAX_DEPTH = 1000;

/** A string at least this long counts in {@link jsonWalk}'s `longChars`. */
export const LONG_STRING = 1024;

/**
 * What the latest {@link isJsonSafe} walk counted: characters in its strings and keys, those in
 * long strings, and its values. Read right after the call (the walk is synchronous); a shared
 * object keeps the walk free of allocations.
 */
export const jsonWalk = { chars: 0, longChars: 0, nodes: 0 };

/** True when `JSON.stringify` carries `value` exactly (no loss, no conversion). Updates {@link jsonWalk}. */
export function isJsonSafe(value: unknown): boolean {
  jsonWalk.chars = 0;
  jsonWalk.longChars = 0;
  jsonWalk.nodes = 0;
  return walkJson(value, 0);
}

function walkJson(value: unknown, depth: number): boolean {
  jsonWalk.nodes++;
  switch (typeof value) {
    case 'string':
      jsonWalk.chars += value.length;
      if (value.length >= LONG_STRING) jsonWalk.longChars += value.length;
      return true;
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (depth > FAST_DEPTH) return false;
      if (Array.isArray(value)) {
        // A subclass, or a toJSON of its own, is not plain data: the full walk decides.
        if ((value as { constructor?: unknown }).constructor !== Array || (value as { toJSON?: unknown }).toJSON !== undefined) return false;
        for (let i = 0; i < value.length; i++) if (!walkJson(value[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) return false;
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
      for (const key in value) {
        jsonWalk.chars += key.length;
        if (!walkJson((value as Record<string, unknown>)[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

const CLONEABLE_CLASSES: ReadonlySet<unknown> = new Set<unknown>([
  Array, Date, RegExp, Map, Set, ArrayBuffer, DataView, Buffer,
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
  Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError,
  Boolean, Number, String,
]);

/**
 * Throw a {@link SerializationError} naming the first value structured clone would refuse or
 * silently alter (functions, symbols, class instances, too deep); return when it is carried
 * exactly. `root` names the value in the error's path, e.g. `task` or `result`.
 */
export function assertCloneable(value: unknown, root: string): void {
  new CloneWalk().walk(value, root, 0);
}

class CloneWalk {
  readonly #ancestors = new Set<object>();
  readonly #done = new Set<object>();

  walk(value: unknown, path: string, depth: number): void {
    switch (typeof value) {
      case 'function':
        throw new SerializationError('function', path, `functions cannot be sent (${describeFunction(value)})`);
      case 'symbol':
        throw new SerializationError('symbol', path, `symbols cannot be sent (${value.toString()})`);
      case 'object':
        if (value !== null) this.#walkObject(value, path, depth);
        return;
      default:
        return;
    }
  }

  #walkObject(value: object, path: string, depth: number): void {
    if (this.#ancestors.has(value) || this.#done.has(value)) return; // cycles and shared refs are cloned fine
    if (depth > MAX_DEPTH) {
      throw new SerializationError('depth', path, `nesting deeper than ${MAX_DEPTH} levels`);
    }
    this.#ancestors.add(value);
    this.#checkClass(value, path);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) this.walk(value[i], `${path}[${i}]`, depth + 1);
      // Its named properties travel too (V8's serializer carries them), so they must be sendable.
      for (const key of Object.keys(value)) {
        if (!ARRAY_INDEX.test(key)) this.walk((value as unknown as Record<string, unknown>)[key], `${path}${formatKey(key)}`, depth + 1);
      }
    } else if (value instanceof Map) {
      let i = 0;
      for (const [k, v] of value) {
        this.walk(k, `${path}.<key ${i}>`, depth + 1);
        this.walk(v, `${path}.get(${describeKey(k)})`, depth + 1);
        i++;
      }
    } else if (value instanceof Set) {
      let i = 0;
      for (const v of value) this.walk(v, `${path}.<item ${i++}>`, depth + 1);
    } else if (!ArrayBuffer.isView(value)) {
      for (const key of Object.keys(value)) {
        this.walk((value as Record<string, unknown>)[key], `${path}${formatKey(key)}`, depth + 1);
      }
      // An error's cause travels with it.
      if (value instanceof Error && Object.hasOwn(value, 'cause')) this.walk(value.cause, `${path}.cause`, depth + 1);
    }
    this.#ancestors.delete(value);
    this.#done.add(value);
  }

  #checkClass(value: object, path: string): void {
    const proto = Object.getPrototypeOf(value) as { constructor?: unknown } | null;
    if (proto === null || proto === Object.prototype) return;
    const ctor = proto.constructor;
    if (CLONEABLE_CLASSES.has(ctor) && Object.hasOwn(proto, 'constructor')) {
      // V8's serializer carries no own property of these but an array's (a typed array's and a boxed string's keys are their elements).
      if (ctor !== Array && ctor !== String && !ArrayBuffer.isView(value) && Object.keys(value).length > 0) {
        const what = value instanceof Error ? 'errors' : `a ${(ctor as { name: string }).name}`;
        throw new SerializationError('unsupported', path, `the own properties of ${what} (${Object.keys(value).join(', ')}) would be lost; send them as plain data`);
      }
      return;
    }
    if (typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer) {
      throw new SerializationError('unsupported', path, 'a SharedArrayBuffer cannot be shared with another process; copy it into an ArrayBuffer');
    }
    const name = typeof ctor === 'function' && ctor.name ? ctor.name : 'an object with a custom prototype';
    throw new SerializationError(
      'class',
      path,
      `instances of ${name} would arrive as plain objects; send plain data and rebuild the instance`,
    );
  }
}

/** A key that names an element of an array, not a property of it. */
const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;

function formatKey(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function describeKey(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key) : typeof key === 'object' ? '{…}' : String(key);
}

function describeFunction(fn: Function): string {
  return fn.name ? `function ${fn.name}` : 'an anonymous function';
}
