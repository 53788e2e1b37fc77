/**
 * Splits a byte stream into lines of text without ever holding more than `maxLineBytes` of one
 * line beyond the chunk being read: a longer line is dropped as it streams past and reported
 * once, and reading resumes at the next newline. Chunk boundaries (even inside a UTF-8
 * character) do not change the result.
 *
 * Built for throughput (`looppool run` reads millions of short lines): the complete lines of a
 * chunk are checked as UTF-8 and decoded in one call each, and a line is a slice of that text;
 * only a chunk that is not valid UTF-8 is taken line by line, to say which line is bad and where.
 */
import { isUtf8 } from 'node:buffer';

/** One input line, numbered from 1 (every `\n` counts, blank lines included). */
export interface RawLine {
  readonly line: number;
  /**
   * The line's text without its `\n` or `\r\n` (nor, on line 1, a UTF-8 byte-order mark);
   * undefined when the line is too long or not UTF-8.
   */
  readonly text: string | undefined;
  /** Its length in bytes (without the line ending, nor the byte-order mark). */
  readonly size: number;
  /** Where the first byte that is not UTF-8 is (an offset in the line), or -1. */
  readonly badByte: number;
}

const NL = 0x0a;
const CR = 0x0d;
/** The UTF-8 byte-order mark. */
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const EMPTY = Buffer.alloc(0);
/**
 * Chunks up to this size are decoded whole (streams read files and pipes 64 KiB at a time);
 * the lines of a larger one are decoded one by one, so no string grows near V8's limit.
 */
const MAX_TEXT_BYTES = 1 << 20;

/**
 * A cursor over the lines of a byte stream: `push` a chunk (or `end` the input), then call
 * `next` until it returns false (the line is in the cursor's own fields, valid until the next
 * call), then push the next chunk.
 */
export class LineReader implements RawLine {
  line = 0;
  text: string | undefined;
  size = 0;
  badByte = -1;

  readonly #max: number;
  /** The start of a line whose newline has not come yet (at most `max + 1` bytes kept). */
  #parts: Buffer[] = [];
  #partSize = 0;
  #partTooLong = false;
  /** True when the last byte added was `\r` (of a line ending, if a newline follows). */
  #partEndsWithCr = false;
  /** That line, completed by the last chunk pushed: the first line `next` gives. */
  #joined: Buffer | undefined;
  #joinedSize = 0;
  /** The chunk's complete lines after it, decoded (valid UTF-8), and where the next one starts. */
  #text = '';
  #textPos = 1;
  /** True when `#text` is all ASCII: a line's byte size is its length. */
  #ascii = true;
  /** Or the same lines as bytes, when they are not all valid UTF-8. */
  #bytes: Buffer | undefined;
  #bytesPos = 0;
  /** The input's first bytes while they may still be a byte-order mark (fewer than 3); undefined once known. */
  #start: Buffer | undefined = EMPTY;

  constructor(maxLineBytes: number) {
    this.#max = maxLineBytes;
  }

  /** Add the next chunk; call only once `next()` has returned false. */
  push(bytes: Buffer): void {
    const chunk = this.#start === undefined ? bytes : this.#withoutBom(bytes);
    if (chunk.length === 0) return;
    const first = chunk.indexOf(NL);
    if (first === -1) {
      this.#addPart(chunk, 0, chunk.length);
      return;
    }
    let start = 0;
    if (this.#partSize > 0) {
      this.#addPart(chunk, 0, first);
      this.#takeParts();
      start = first + 1;
    }
    const last = chunk.lastIndexOf(NL);
    if (start <= last) this.#setLines(chunk, start, last);
    this.#addPart(chunk, last + 1, chunk.length);
  }

  /** Move to the next complete line; false when the chunks pushed so far have no more. */
  next(): boolean {
    if (this.#joined !== undefined) {
      const bytes = this.#joined;
      this.#joined = undefined;
      this.#fromBytes(bytes, this.#joinedSize);
      return true;
    }
    const text = this.#text;
    if (this.#textPos <= text.length) {
      const nl = text.indexOf('\n', this.#textPos);
      const end = nl === -1 ? text.length : nl;
      this.#fromText(text.slice(this.#textPos, end));
      this.#textPos = end + 1;
      return true;
    }
    const bytes = this.#bytes;
    if (bytes !== undefined) {
      const nl = bytes.indexOf(NL, this.#bytesPos);
      const end = nl === -1 ? bytes.length : nl;
      const line = bytes.subarray(this.#bytesPos, end);
      if (nl === -1) this.#bytes = undefined;
      else this.#bytesPos = nl + 1;
      this.#fromBytes(line, line.length);
      return true;
    }
    return false;
  }

  /** The input ended: a last line without a newline is the next line; call only once `next()` has returned false. */
  end(): void {
    const start = this.#start;
    this.#start = undefined;
    if (start !== undefined) this.#addPart(start, 0, start.length); // the start of a BOM, and the input ended: they are the line's
    if (this.#partSize > 0) this.#takeParts();
  }

  /** A copy of the current line, for a consumer that keeps it. */
  current(): RawLine {
    return { line: this.line, text: this.text, size: this.size, badByte: this.badByte };
  }

  /**
   * `chunk` without the byte-order mark the input starts with, if it does. It is dropped before any
   * line is measured: counted toward the first line's size, it made a line of `--max-line-bytes`
   * too long. Bytes that may be its start are held while a chunk boundary splits it.
   */
  #withoutBom(chunk: Buffer): Buffer {
    const start = this.#start?.length ? Buffer.concat([this.#start, chunk]) : chunk;
    if (start.length < BOM.length && BOM.subarray(0, start.length).equals(start)) {
      this.#start = Buffer.from(start); // a copy: the chunk is not kept alive
      return EMPTY;
    }
    this.#start = undefined;
    return BOM.equals(start.subarray(0, BOM.length)) ? start.subarray(BOM.length) : start;
  }

  #addPart(chunk: Buffer, start: number, end: number): void {
    const length = end - start;
    if (length === 0) return;
    this.#partSize += length;
    this.#partEndsWithCr = chunk[end - 1] === CR;
    if (this.#partTooLong) return;
    // One byte of slack for a `\r` that belongs to the line ending, not to the line.
    if (this.#partSize > this.#max + 1) {
      this.#partTooLong = true;
      this.#parts = [];
      return;
    }
    // A copy: the rest of the chunk is not kept alive by a few bytes of it.
    this.#parts.push(Buffer.from(chunk.subarray(start, end)));
  }

  /** The carried line is complete: it becomes `#joined` (empty when too long), the parts reset. */
  #takeParts(): void {
    this.#joined = this.#partTooLong ? Buffer.alloc(0) : Buffer.concat(this.#parts);
    this.#joinedSize = this.#partTooLong ? this.#partSize - (this.#partEndsWithCr ? 1 : 0) : this.#joined.length;
    this.#parts = [];
    this.#partSize = 0;
    this.#partTooLong = false;
  }

  /** `chunk[start, end)`: whole lines separated by `\n` (`end` is the last newline). */
  #setLines(chunk: Buffer, start: number, end: number): void {
    const bytes = chunk.subarray(start, end);
    if (bytes.length <= MAX_TEXT_BYTES && isUtf8(bytes)) {
      this.#text = bytes.toString('utf8');
      this.#textPos = 0;
      this.#ascii = this.#text.length === bytes.length;
    } else {
      this.#bytes = bytes;
      this.#bytesPos = 0;
    }
  }

  #fromText(text: string): void {
    this.line++;
    let line = text;
    if (line.charCodeAt(line.length - 1) === CR) line = line.slice(0, -1);
    this.size = this.#ascii ? line.length : Buffer.byteLength(line);
    this.badByte = -1;
    this.text = this.size > this.#max ? undefined : line;
  }

  /** A line from bytes; `size` is its byte count, larger than `bytes` when it was too long (and dropped). */
  #fromBytes(bytes: Buffer, size: number): void {
    this.line++;
    this.badByte = -1;
    this.text = undefined;
    this.size = size;
    if (size > bytes.length) return; // too long: its bytes were not kept
    let line = bytes;
    if (line.length > 0 && line[line.length - 1] === CR) {
      line = line.subarray(0, line.length - 1);
      this.size--;
    }
    if (this.size > this.#max) return;
    if (isUtf8(line)) this.text = line.toString('utf8');
    else this.badByte = firstInvalidOffset(line);
  }
}

/**
 * Yield the lines of `source`. Pulls the next chunk only when the consumer asks for a line the
 * chunks so far do not hold, so a slow consumer pauses the source (backpressure).
 */
export async function* splitLines(source: AsyncIterable<Buffer | string>, maxLineBytes: number): AsyncGenerator<RawLine> {
  const reader = new LineReader(maxLineBytes);
  for await (const chunk of source) {
    reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    while (reader.next()) yield reader.current();
  }
  reader.end();
  if (reader.next()) yield reader.current();
}

/** The offset of the first byte of `bytes` that cannot start or continue a UTF-8 character. */
function firstInvalidOffset(bytes: Buffer): number {
  let lo = 0;
  let hi = bytes.length;
  // Binary search for the shortest prefix that fails (streaming: a prefix ending inside a character is fine).
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (decodes(bytes.subarray(0, mid + 1))) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function decodes(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}
