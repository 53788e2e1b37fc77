/**
 * Seeded random input for the fuzz tests: a PRNG, a generator of hostile JSON-lines byte
 * streams, random chunking, and the reference reader the command's output is checked against.
 */

export { prng } from '../helpers/prng.ts';
import { prng } from '../helpers/prng.ts';

export class Random {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const ALPHABET = ['a', 'b', 'Z', ' ', '"', '\\', '/', '\n', '\t', 'é', '€', '𝄞', '\u2028', '\u0000', '{', ']', ','];

function randomString(r: Random): string {
  let s = '';
  for (let i = r.int(0, 12); i > 0; i--) s += r.pick(ALPHABET);
  return s;
}

/** A random JSON value (as a JS value), `depth` levels at most. */
export function randomValue(r: Random, depth = 3): unknown {
  const kind = r.int(0, depth > 0 ? 7 : 4);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick([0, -1, 3.25, 1e21, -2.5e-7, 2 ** 53 + 2, 123456789]);
    case 3:
    case 4:
      return randomString(r);
    case 5:
      return Array.from({ length: r.int(0, 4) }, () => randomValue(r, depth - 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = r.int(0, 4); i > 0; i--) out[r.pick(['a', 'key', 'constructor', 'prototype', 'toString', randomString(r)])] = randomValue(r, depth - 1);
      return out;
    }
  }
}

/** One line's bytes (no line ending), of a random hostile kind. */
export function randomLine(r: Random, maxLineBytes: number): Buffer {
  switch (r.int(0, 15)) {
    case 0:
      return Buffer.from('');
    case 1:
      return Buffer.from(r.pick([' ', '\t', '  \t ', '\r']));
    case 2:
      return Buffer.from(r.pick(['{"a":1,}', 'NaN', '[1,2', '{"a" 1}', "{'a':1}", 'undefined', '01', '"\u0001"', '{"a":1}x']));
    case 3:
      return Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, r.pick([0xff, 0xc3, 0xed]), r.pick([0xa0, 0x28, 0x80]), 0x80, 0x22, 0x7d]); // invalid UTF-8 in a string
    case 4:
      return Buffer.from(r.pick(['{"__proto__":{"polluted":1}}', '{"a":{"__proto__":{"polluted":1}}}', '{"\\u005f_proto__":{"polluted":1}}', '[{"x":1,"__proto__":[]}]']));
    case 5:
      return Buffer.from(r.pick(['{"constructor":{"prototype":{"polluted":1}}}', '{"a":1,"a":2}', '{"prototype":{"x":1}}']));
    case 6: {
      const depth = r.pick([10, 511, 512, 513, 1000, 5000]);
      return Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`);
    }
    case 7:
      return Buffer.from(`"${'x'.repeat(r.int(maxLineBytes - 4, maxLineBytes * 4))}"`); // near or over the limit
    case 8:
      return Buffer.from(r.pick(['{"s":"\\ud800 lone","t":"\\udfff"}', '"\\ud83d"', '["\\u0000\\u001f\\u2028"]']));
    case 9:
      return Buffer.from(`{"big":${r.pick(['9007199254740993', '1e400', '-0', '123456789012345678901234567890'])}}`);
    case 10:
      return Buffer.from(`"nul\u0000inside"`);
    default:
      return Buffer.from(JSON.stringify(randomValue(r)));
  }
}

/** A whole input: random lines with random endings, a BOM sometimes, no final newline sometimes. */
export function randomInput(r: Random, lines: number, maxLineBytes: number): Buffer {
  const parts: Buffer[] = [];
  if (r.chance(0.3)) parts.push(Buffer.from([0xef, 0xbb, 0xbf]));
  for (let i = 0; i < lines; i++) {
    parts.push(randomLine(r, maxLineBytes));
    if (i < lines - 1 || r.chance(0.5)) parts.push(Buffer.from(r.chance(0.2) ? '\r\n' : '\n'));
  }
  return Buffer.concat(parts);
}

/** `data` cut at random places (also inside multi-byte characters). */
export function randomChunks(r: Random, data: Buffer, maxChunk: number): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < data.length; ) {
    const size = r.int(1, maxChunk);
    out.push(data.subarray(pos, pos + size));
    pos += size;
  }
  return out;
}

/** What the reference reader expects for one non-blank line. */
export type Expected = { line: number; task: unknown } | { line: number; code: string };

const BLANK = /^[ \t]*$/; // a `\r` left once the line's ending is gone is content

/**
 * The reference reader: split on `\n`, strip one trailing `\r`, strip a BOM on line 1 (it does
 * not count toward the limit), skip blank lines, refuse over-long lines, strict UTF-8, depth ≤ 512, no `__proto__` key, JSON.parse.
 */
export function expectedRecords(data: Buffer, maxLineBytes: number, mode: 'json' | 'lines' = 'json'): Expected[] {
  const out: Expected[] = [];
  const segments: Buffer[] = [];
  let start = 0;
  for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start)) {
    segments.push(data.subarray(start, nl));
    start = nl + 1;
  }
  if (start < data.length) segments.push(data.subarray(start));
  segments.forEach((segment, i) => {
    const line = i + 1;
    let bytes = segment.length > 0 && segment[segment.length - 1] === 0x0d ? segment.subarray(0, -1) : segment;
    if (line === 1 && bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))) bytes = bytes.subarray(3);
    if (bytes.length > maxLineBytes) return void out.push({ line, code: 'ERR_LINE_TOO_LONG' });
    if (BLANK.test(bytes.toString('latin1'))) return;
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      return void out.push({ line, code: 'ERR_INVALID_UTF8' });
    }
    if (mode === 'lines') return void out.push({ line, task: text });
    if (maxDepth(text) > 512) return void out.push({ line, code: 'ERR_INPUT_DEPTH' });
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return void out.push({ line, code: 'ERR_INVALID_JSON' });
    }
    if (hasProtoKey(value)) return void out.push({ line, code: 'ERR_FORBIDDEN_KEY' });
    out.push({ line, task: value });
  });
  return out;
}

function maxDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ']' || c === '}') depth--;
  }
  return max;
}

function hasProtoKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Object.prototype.hasOwnProperty.call(value, '__proto__')) return true;
  return Object.values(value).some(hasProtoKey);
}
