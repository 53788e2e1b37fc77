/**
 * Turns one raw input line into a task, or into the reason it cannot be one. Input is
 * untrusted: text must be valid UTF-8 (the line reader checks), JSON must parse, nest at most
 * {@link MAX_INPUT_DEPTH} levels, and hold no `__proto__` key (the prototype-pollution vector).
 * Nothing here throws.
 */
import type { RawLine } from './line-reader.ts';

/** Deepest nesting of arrays and objects accepted in a JSON task (the pool refuses 1000+). */
export const MAX_INPUT_DEPTH = 512;

/** Why a line is not a task; the `code` of its error record. */
export type InputErrorCode = 'ERR_LINE_TOO_LONG' | 'ERR_INVALID_UTF8' | 'ERR_INVALID_JSON' | 'ERR_INPUT_DEPTH' | 'ERR_FORBIDDEN_KEY';

export interface InputProblem {
  readonly code: InputErrorCode;
  readonly message: string;
}

export type DecodedLine =
  | { readonly kind: 'blank' }
  | { readonly kind: 'task'; readonly task: unknown }
  | { readonly kind: 'invalid'; readonly problem: InputProblem };

/** How lines become tasks: `json` (one JSON value per line) or `lines` (the line itself, a string). */
export type InputMode = 'json' | 'lines';

class ForbiddenKey extends Error {}

/** Decode one line. Blank lines (empty or only spaces and tabs) are `blank`: they get no record. */
export function decodeLine(raw: RawLine, mode: InputMode, maxLineBytes: number): DecodedLine {
  const text = raw.text;
  if (text === undefined) {
    return raw.badByte >= 0
      ? invalid('ERR_INVALID_UTF8', `The line is not valid UTF-8 (first bad byte near offset ${raw.badByte})`)
      : invalid('ERR_LINE_TOO_LONG', `The line has ${raw.size} bytes, more than --max-line-bytes (${maxLineBytes})`);
  }
  if (isBlank(text)) return BLANK_LINE;
  return mode === 'lines' ? { kind: 'task', task: text } : parseJson(text);
}

/** Decode a JSON text with the rules of task lines (`--worker-data`). */
export function decodeJson(text: string): DecodedLine {
  return isBlank(text) ? BLANK_LINE : parseJson(text);
}

const BLANK_LINE: DecodedLine = { kind: 'blank' };

/** Empty, or only spaces and tabs (a line's CRLF ending is already gone: a `\r` left is content). */
function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) return false;
  }
  return true;
}

function parseJson(text: string): DecodedLine {
  if (text.length > MAX_INPUT_DEPTH && nestingExceeds(text, MAX_INPUT_DEPTH)) {
    return invalid('ERR_INPUT_DEPTH', `The JSON nests deeper than ${MAX_INPUT_DEPTH} levels`);
  }
  // A reviver is slower: use it only when the text could name `__proto__` (also as \u escapes).
  const careful = text.includes('__proto__') || text.includes('\\u');
  try {
    return { kind: 'task', task: careful ? JSON.parse(text, refuseProto) : JSON.parse(text) };
  } catch (err) {
    if (err instanceof ForbiddenKey) {
      return invalid('ERR_FORBIDDEN_KEY', 'The JSON has a "__proto__" key, which is refused (prototype pollution); rename the field');
    }
    return invalid('ERR_INVALID_JSON', `Invalid JSON: ${(err as Error).message}`);
  }
}

function refuseProto(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new ForbiddenKey();
  return value;
}

/** True when arrays/objects nest deeper than `max` (brackets inside strings do not count). */
export function nestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

function invalid(code: InputErrorCode, message: string): DecodedLine {
  return { kind: 'invalid', problem: { code, message } };
}
