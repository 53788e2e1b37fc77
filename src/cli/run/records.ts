/**
 * The output records of `looppool run`, one JSON object per line:
 *   {"line": n, "result": …}        the task's return value
 *   {"line": n, "error": {…}}       the line could not run, or its task failed
 *   {"line": n, "extra": …}         a result the task streamed with ctx.putResult
 *   {"extra": …}                    a result streamed with this.putResult, outside any task
 */
import { inspect } from 'node:util';
import type { InputProblem } from './decode-line.ts';

/** Where an error came from: the input line, the task's own code, or the pool (crash, stop…). */
export type ErrorOrigin = 'input' | 'task' | 'pool' | 'output';

/** The `error` field of a record. */
export interface ErrorInfo {
  readonly origin: ErrorOrigin;
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly [property: string]: unknown;
}

const SKIPPED = new Set(['name', 'message', 'stack', 'cause', 'origin', '__proto__', 'constructor']);
const MAX_CAUSE_DEPTH = 3;

/** The error record of an input line that is not a task. */
export function inputError(problem: InputProblem): ErrorInfo {
  return { origin: 'input', name: 'InputError', code: problem.code, message: problem.message };
}

/**
 * The error record of a failed task. A `TaskError` (the worker's code threw) is unwrapped: the
 * record shows the worker's error — its name, message and own properties such as `code`.
 */
export function taskError(error: unknown): ErrorInfo {
  if (error instanceof Error && error.name === 'TaskError' && (error as { code?: unknown }).code === 'ERR_TASK_FAILED' && error.cause instanceof Error) {
    return { origin: 'task', ...describe(error.cause, 0) };
  }
  return { origin: 'pool', ...describe(error, 0) };
}

/** A value that could not be written as JSON. */
export function outputError(error: unknown): ErrorInfo {
  return { origin: 'output', name: 'OutputError', code: 'ERR_RESULT_NOT_JSON', message: `The result cannot be written as JSON: ${(error as Error).message}` };
}

type Described = { name: string; message: string; [property: string]: unknown };

function describe(error: unknown, depth: number): Described {
  if (!(error instanceof Error)) return { name: 'Error', message: typeof error === 'string' ? error : inspect(error, { depth: 2 }) };
  const out: Record<string, unknown> = { name: error.name, message: error.message };
  for (const key of Object.keys(error)) {
    if (SKIPPED.has(key)) continue;
    out[key] = plain((error as unknown as Record<string, unknown>)[key]);
  }
  if (error.cause !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = describe(error.cause, depth + 1);
  return out as Described;
}

/** A property value as JSON can carry it. */
function plain(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  try {
    const text = JSON.stringify(value, jsonReplacer);
    return text === undefined || text.length > 10_000 ? inspect(value, { depth: 2 }) : (JSON.parse(text) as unknown);
  } catch {
    return inspect(value, { depth: 2 });
  }
}

/**
 * `JSON.stringify` replacer for values JSON cannot carry as they are: BigInt → decimal string,
 * Map → array of [key, value], Set and typed arrays → arrays, Error → { name, message }.
 * `undefined` results are written as null. Cycles still throw (→ an OutputError record).
 */
export function jsonReplacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) return [...value];
  if (value instanceof Set) return [...value];
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

/** One record as a JSON line; `value` is written as `field` (null for undefined). Throws when it cannot be JSON. */
export function recordLine(line: number | null, field: 'result' | 'extra', value: unknown): string {
  // The replacer costs a call per value: values JSON takes as they are (most results) skip it.
  const json = (isPlainJson(value, 0) ? JSON.stringify(value) : JSON.stringify(value === undefined ? null : value, jsonReplacer)) ?? 'null';
  return line === null ? `{"${field}":${json}}\n` : `{"line":${line},"${field}":${json}}\n`;
}

/** Nesting below which {@link isPlainJson} looks (deeper values, and cycles, take the replacer's path). */
const PLAIN_DEPTH = 32;

/**
 * True when `JSON.stringify(value)` writes what the replacer would: strings, finite or not
 * numbers, booleans, null, and arrays and plain objects of those. Anything else (undefined,
 * BigInt, Map, Set, typed arrays, errors, class instances, functions) takes the replacer's path.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (depth >= PLAIN_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i], depth + 1)) return false;
    return Object.getPrototypeOf(value) === Array.prototype;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key) || !isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true; // an own `toJSON` that JSON would call is a function: refused above
}

/** An error record as a JSON line. */
export function errorLine(line: number, error: ErrorInfo): string {
  return `{"line":${line},"error":${JSON.stringify(error, jsonReplacer)}}\n`;
}

/** The key failures are counted under in the summary: the error's name (the worker's, for task errors). */
export function failureKey(error: ErrorInfo): string {
  return error.name;
}
