/**
 * The checks the public API's options are made of: each returns the value it was given, or throws
 * a TypeError in one wording, "Expected `name` to be ..., got `value` (type)" (p-queue's). Which
 * option gets which check, and its default, is options.ts's to say.
 */
import { isDelay, MAX_DELAY_MS } from './delay.ts';
import { assertNotNull, assertOnlyKnownKeys, notOptionsObject } from './known-keys.ts';

/**
 * The options `input` holds, each read once (own or inherited: a getter runs once), as a plain
 * object of the `known` keys whose value is not undefined. An unknown own key or a null value
 * (unless its key is in `nullable`) is refused (known-keys.ts), named with `prefix` (`statsd.`
 * for a nested object) and followed by `hint`. The caller checks and uses this object, never
 * `input` again: a getter that returns another value at every read cannot pass the checks with
 * one value and be used with another. Every options object of the public API is read here.
 * @throws {TypeError} `Expected \`<prefix><key>\` to be readable, got an error when reading it (...)`,
 * with what its getter threw as `cause`
 */
export function readOptions(
  input: object, known: ReadonlySet<string>, prefix = '', hint: string | ((key: string) => string) = '', nullable?: ReadonlySet<string>,
): Record<string, unknown> {
  assertOnlyKnownKeys(input, known, prefix, hint);
  const values: Record<string, unknown> = {};
  for (const key of known) {
    let value: unknown;
    try {
      value = (input as Record<string, unknown>)[key];
    } catch (error) {
      throw unreadable(`${prefix}${key}`, error);
    }
    assertNotNull(prefix, key, value, nullable);
    if (value !== undefined) values[key] = value;
  }
  return values;
}

/** The TypeError for option `name`, whose reading threw `error` (a getter, a Proxy's trap): `cause` is what it threw. */
export function unreadable(name: string, error: unknown): TypeError {
  const what = error instanceof Error ? `${error.name}: ${error.message}` : show(error);
  return new TypeError(`Expected \`${name}\` to be readable, got an error when reading it (${what})`, { cause: error });
}

export function integer(name: string, value: unknown, min: number, allowInfinity = false): number {
  const ok = (allowInfinity && value === Infinity) || (Number.isSafeInteger(value) && (value as number) >= min);
  if (!ok) {
    throw new TypeError(`Expected \`${name}\` to be an integer >= ${min}${allowInfinity ? ' or Infinity' : ''}, got ${show(value)}`);
  }
  return value as number;
}

/** An integer from `min` to `max`, both included. */
export function integerBetween(name: string, value: unknown, min: number, max: number): number {
  if (Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max) return value as number;
  throw new TypeError(`Expected \`${name}\` to be an integer from ${min} to ${max}, got ${show(value)}`);
}

export function boolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`Expected \`${name}\` to be a boolean, got ${show(value)}`);
  return value;
}

/** An option that ends up in a timer: an integer number of ms Node's timers honour (or Infinity, where allowed: no timer). */
export function delayOption(name: string, value: unknown, min: number, allowInfinity = false): number {
  if ((allowInfinity && value === Infinity) || isDelay(value, min)) return value as number;
  throw new TypeError(`Expected \`${name}\` to be an integer from ${min} to ${MAX_DELAY_MS} (ms)${allowInfinity ? ' or Infinity' : ''}, got ${show(value)}`);
}

export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new TypeError(`Expected \`${name}\` to be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${show(value)}`);
  }
  return value as T;
}

/** A plain options object or record (an array is refused: its entries would be read as keys). */
/** The options argument of a call: any object (its keys are checked by readOptions). */
export function assertOptionsArgument(value: unknown): asserts value is object {
  if (typeof value !== 'object' || value === null) throw new TypeError(`Expected the options to be an object, got ${show(value)}`);
}

export function object(name: string, value: unknown): object {
  if (typeof value !== 'object' || value === null) throw new TypeError(`Expected \`${name}\` to be an object, got ${show(value)}`);
  // A Map, a Date, URLSearchParams: their contents are no keys (env: new Map(...) gave the workers no environment).
  const kind = notOptionsObject(value);
  if (kind !== undefined) throw new TypeError(`Expected \`${name}\` to be an object, got ${kind}`);
  return value;
}

/**
 * Command-line arguments: an array of non-empty strings without NUL, and without holes (`every`
 * skips a hole, which reached spawn() as the string "undefined").
 */
export function stringArray(name: string, value: unknown): string[] {
  const args = Array.isArray(value) ? Array.from(value as unknown[]) : undefined;
  if (args === undefined || !args.every((v) => typeof v === 'string' && v !== '' && !v.includes('\0'))) {
    throw new TypeError(`Expected \`${name}\` to be an array of non-empty strings without NUL characters, got ${show(value)}`);
  }
  return args as string[];
}

/** A pool's name: it goes into process titles, metric names and control socket paths. */
export function poolName(name: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(value)) {
    throw new TypeError(`Expected \`${name}\` to be 1-64 characters of [A-Za-z0-9_.-], got ${show(value)}`);
  }
  return value;
}

/** A callback option. */
export function callback<T extends (...args: never[]) => unknown>(name: string, value: unknown): T {
  if (typeof value !== 'function') throw new TypeError(`Expected \`${name}\` to be a function, got ${show(value)}`);
  return value as T;
}

/** `` `0` (number) ``: the value and its type, for error messages (objects and arrays as JSON where they can be). */
export function show(value: unknown): string {
  let text: string;
  try {
    if (typeof value === 'string') text = JSON.stringify(value);
    else if (typeof value === 'bigint') text = `${value}n`;
    else if (typeof value === 'object' && value !== null) text = JSON.stringify(value) ?? String(value);
    else text = String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  return `\`${text}\` (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})`;
}
