/**
 * Decides how a value crosses the channel. Plain JSON data (the common case) takes the fast
 * path, checked by an allocation-free walk; everything else is walked again in full, and is
 * either carried by V8's structured clone (Map, Set, Date, BigInt, typed arrays, Buffers,
 * errors, undefined, NaN, cycles…) or refused with the path of the offending value.
 * Nothing is silently altered but the named properties of an array of plain data or of a typed
 * array, which no walk looks for (listing an array's keys costs as much as its JSON; the guide
 * says so), and the identity of a plain object reached twice (not a cycle), which arrives as two
 * equal copies (a set of the objects seen made the walk six times slower; the guide says so too)
 * unless its JSON would pass the size limit (see isJsonSafe).
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
export const jsonWalk = { chars: 0, longChars: 0, nodes: 0, maxBytes: Infinity };

/**
 * True when `JSON.stringify` carries `value` exactly (no loss, no conversion) in at most
 * `maxBytes`. Updates {@link jsonWalk}. False as soon as the JSON text is sure to be longer
 * (2 bytes a value at least, with its comma, and its strings' characters), which also ends the
 * walk of a small value whose objects are reached many times over: JSON writes such an object
 * once for every way to it, and a few dozen objects each reached twice from the one above make
 * billions of copies. V8's serializer, the other way, writes each object once.
 */
export function isJsonSafe(value: unknown, maxBytes = Infinity): boolean {
  jsonWalk.chars = 0;
  jsonWalk.longChars = 0;
  jsonWalk.nodes = 0;
  jsonWalk.maxBytes = maxBytes;
  return walkJson(value, 0);
}

function walkJson(value: unknown, depth: number): boolean {
  jsonWalk.nodes++;
  switch (typeof value) {
    case 'string':
      jsonWalk.chars += value.length;
      if (value.length >= LONG_STRING) jsonWalk.longChars += value.length;
      return jsonWalk.chars <= jsonWalk.maxBytes; // longer JSON text would be refused: the full walk says why
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (depth > FAST_DEPTH || 2 * jsonWalk.nodes + jsonWalk.chars > jsonWalk.maxBytes + 1) return false;
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
  Boolean, Number, String, BigInt,
]);

/**
 * Throw a {@link SerializationError} naming the first value structured clone would refuse or
 * silently alter (functions, symbols, class instances, too deep), or when its strings alone
 * hold more than `maxBytes` characters (V8's serializer writes a string wherever it is, and an
 * object once); return when it is carried exactly. `root` names the value in the error's path,
 * e.g. `task` or `result`.
 */
export function assertCloneable(value: unknown, root: string, maxBytes = Infinity): void {
  new CloneWalk(root, maxBytes).walk(value, 0);
}

/** How a step of a path is written: an array index, an own key, a Map's key or value, a Set's item. */
const INDEX = 0;
const KEY = 1;
const MAP_KEY = 2;
const MAP_VALUE = 3;
const SET_ITEM = 4;
type Step = typeof INDEX | typeof KEY | typeof MAP_KEY | typeof MAP_VALUE | typeof SET_ITEM;

class CloneWalk {
  readonly #root: string;
  readonly #maxBytes: number;
  readonly #ancestors = new Set<object>();
  readonly #done = new Set<object>();
  /** The path to the value being walked, as steps (written out only for an error: a big array's walk makes no strings). */
  readonly #steps: Step[] = [];
  readonly #names: unknown[] = [];
  #chars = 0;

  constructor(root: string, maxBytes: number) {
    this.#root = root;
    this.#maxBytes = maxBytes;
  }

  walk(value: unknown, depth: number): void {
    switch (typeof value) {
      case 'function':
        throw this.#error('function', `functions cannot be sent (${describeFunction(value)})`);
      case 'symbol':
        throw this.#error('symbol', `symbols cannot be sent (${shown(value.toString())})`);
      case 'string':
        this.#count(value.length);
        return;
      case 'object':
        if (value !== null) this.#walkObject(value, depth);
        return;
      default:
        return;
    }
  }

  #child(step: Step, name: unknown, value: unknown, depth: number): void {
    this.#steps.push(step);
    this.#names.push(name);
    this.walk(value, depth + 1);
    this.#steps.pop();
    this.#names.pop();
  }

  #count(chars: number): void {
    this.#chars += chars;
    if (this.#chars > this.#maxBytes) throw new SerializationError('size', this.#root, `its strings alone exceed maxMessageBytes (${this.#maxBytes})`); // the whole value's size
  }

  #walkObject(value: object, depth: number): void {
    if (this.#ancestors.has(value) || this.#done.has(value)) return; // cycles and shared refs are cloned fine
    if (depth > MAX_DEPTH) throw this.#error('depth', `nesting deeper than ${MAX_DEPTH} levels`);
    this.#ancestors.add(value);
    this.#checkClass(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) this.#child(INDEX, i, value[i], depth);
      // Its named properties travel too (V8's serializer carries them), so they must be sendable.
      for (const key of Object.keys(value)) {
        if (!ARRAY_INDEX.test(key)) this.#key(value, key, depth);
      }
    } else if (value instanceof Map) {
      let i = 0;
      for (const [k, v] of value) {
        this.#child(MAP_KEY, i++, k, depth);
        this.#child(MAP_VALUE, k, v, depth);
      }
    } else if (value instanceof Set) {
      let i = 0;
      for (const v of value) this.#child(SET_ITEM, i++, v, depth);
    } else if (!ArrayBuffer.isView(value) && !(value instanceof String)) {
      for (const key of Object.keys(value)) this.#key(value, key, depth);
      // An error's cause travels with it.
      if (value instanceof Error && Object.hasOwn(value, 'cause')) this.#child(KEY, 'cause', value.cause, depth);
    }
    this.#ancestors.delete(value);
    this.#done.add(value);
  }

  #key(value: object, key: string, depth: number): void {
    this.#count(key.length);
    this.#child(KEY, key, (value as Record<string, unknown>)[key], depth);
  }

  #checkClass(value: object): void {
    const proto = Object.getPrototypeOf(value) as { constructor?: unknown } | null;
    if (proto === null || proto === Object.prototype) return;
    const ctor = Object.hasOwn(proto, 'constructor') ? proto.constructor : undefined;
    if (CLONEABLE_CLASSES.has(ctor)) {
      if (ArrayBuffer.isView(value) && typeof SharedArrayBuffer === 'function' && value.buffer instanceof SharedArrayBuffer) {
        throw this.#error('unsupported', `a view of a SharedArrayBuffer would arrive as a copy, shared with nobody; copy it into an ArrayBuffer`);
      }
      // V8's serializer carries no own property of these but an array's. A typed array's keys
      // are its elements (listing them costs as much as sending them: not looked at; the guide
      // says so); a boxed string's are its characters, then its own.
      const own = ctor === Array || (ArrayBuffer.isView(value) && !(value instanceof DataView)) ? [] : ownKeys(value);
      if (own.length > 0) {
        const what = value instanceof Error ? 'errors' : `a ${(ctor as { name: string }).name}`;
        throw this.#error('unsupported', `the own properties of ${what} (${listKeys(own)}) would be lost; send them as plain data`);
      }
      return;
    }
    if (typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer) {
      throw this.#error('unsupported', 'a SharedArrayBuffer cannot be shared with another process; copy it into an ArrayBuffer');
    }
    const name = typeof ctor === 'function' && ctor.name ? `instances of ${shown(ctor.name)}` : 'objects with a prototype of their own';
    const as = value instanceof Error ? 'errors of a built-in class, without their own fields' : 'plain objects';
    throw this.#error('class', `${name} would arrive as ${as}; send plain data and rebuild the instance`);
  }

  /**
   * The error, with the path to the value being walked: of a path deeper than FIRST_STEPS +
   * LAST_STEPS, its first and last steps and how many levels between (a refusal 1,000 levels deep
   * would write out every level), so that the path and the message stay short enough to read, and
   * to come back whole from a worker.
   */
  #error(reason: SerializationError['reason'], message: string): SerializationError {
    let path = this.#root;
    const steps = this.#steps.length;
    const hidden = steps > FIRST_STEPS + LAST_STEPS ? steps - FIRST_STEPS - LAST_STEPS : 0;
    for (let i = 0; i < steps; i++) {
      if (hidden > 0 && i === FIRST_STEPS) {
        path += `.<${hidden} more levels>`;
        i += hidden - 1;
      } else {
        path += this.#step(i);
      }
    }
    return new SerializationError(reason, path, message);
  }

  #step(i: number): string {
    const name = this.#names[i];
    switch (this.#steps[i] as Step) {
      case INDEX:
        return `[${name as number}]`;
      case KEY:
        return formatKey(name as string);
      case MAP_KEY:
        return `.<key ${name as number}>`;
      case MAP_VALUE:
        return `.get(${describeKey(name)})`;
      case SET_ITEM:
        return `.<item ${name as number}>`;
    }
  }
}

/** Steps a path shows at most: the first ones, and the last ones (see CloneWalk's #error). */
const FIRST_STEPS = 24;
const LAST_STEPS = 8;
/** Characters of a key, or a name, a path or a message shows: a longer one is cut, saying how long it was. */
const SHOWN_CHARS = 64;

/** The own keys of `value` that are not an element of a boxed string. */
function ownKeys(value: object): string[] {
  const keys = Object.keys(value);
  return value instanceof String ? keys.filter((k) => !ARRAY_INDEX.test(k) || Number(k) >= value.length) : keys;
}

/** A key that names an element of an array, not a property of it. */
const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;

function formatKey(key: string): string {
  return key.length <= SHOWN_CHARS && /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${quoted(key)}]`;
}

function describeKey(key: unknown): string {
  return typeof key === 'string' ? quoted(key) : typeof key === 'object' ? '{…}' : shown(String(key));
}

/** A key as a string literal; a long one cut: `"kkk…"… (100000 characters)`. */
function quoted(key: string): string {
  return key.length <= SHOWN_CHARS ? JSON.stringify(key) : `${JSON.stringify(key.slice(0, SHOWN_CHARS))}… (${key.length} characters)`;
}

/** A name (a function's, a symbol's) as it is, or cut: `xxx… (100000 characters)`. */
function shown(text: string): string {
  return text.length <= SHOWN_CHARS ? text : `${text.slice(0, SHOWN_CHARS)}… (${text.length} characters)`;
}

/** The first keys of a list, each {@link shown}, and how many more. */
function listKeys(keys: string[]): string {
  const first = keys.slice(0, 5).map(shown).join(', ');
  return keys.length > 5 ? `${first} and ${keys.length - 5} more` : first;
}

function describeFunction(fn: Function): string {
  return fn.name ? `function ${shown(fn.name)}` : 'an anonymous function';
}
