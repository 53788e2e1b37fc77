/**
 * Splits a byte stream into lines without ever holding more than `maxLineBytes` of one line:
 * a longer line is dropped as it streams past and reported once, and reading resumes at the
 * next newline. Chunk boundaries (even inside a UTF-8 character) do not change the result.
 */

/** One input line, numbered from 1 (every `\n` counts, blank lines included). */
export interface RawLine {
  readonly line: number;
  /** The line's bytes without its `\n` or `\r\n`; undefined when the line was too long. */
  readonly bytes: Buffer | undefined;
  /** Its length in bytes (without the line ending). */
  readonly size: number;
}

const NL = 0x0a;
const CR = 0x0d;

/**
 * Yield the lines of `source`. Pulls the next chunk only when the consumer asks for the next
 * line, so a slow consumer pauses the source (backpressure).
 */
export async function* splitLines(source: AsyncIterable<Buffer | string>, maxLineBytes: number): AsyncGenerator<RawLine> {
  const splitter = new LineSplitter(maxLineBytes);
  for await (const chunk of source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let pos = 0;
    while (pos < buf.length) {
      const nl = buf.indexOf(NL, pos);
      splitter.add(buf, pos, nl === -1 ? buf.length : nl);
      if (nl === -1) break;
      yield splitter.finish();
      pos = nl + 1;
    }
  }
  if (splitter.pending) yield splitter.finish();
}

/** The line being assembled. */
class LineSplitter {
  readonly #max: number;
  #line = 1;
  #parts: Buffer[] = [];
  /** Bytes seen for this line so far (kept or not). */
  #size = 0;
  #tooLong = false;

  constructor(maxLineBytes: number) {
    this.#max = maxLineBytes;
  }

  /** True when a line without its final newline is waiting. */
  get pending(): boolean {
    return this.#size > 0;
  }

  add(buf: Buffer, start: number, end: number): void {
    const length = end - start;
    if (length === 0) return;
    this.#size += length;
    if (this.#tooLong) return;
    // One byte of slack for a `\r` that belongs to the line ending, not to the line.
    if (this.#size > this.#max + 1) {
      this.#tooLong = true;
      this.#parts = [];
      return;
    }
    this.#parts.push(buf.subarray(start, end));
  }

  finish(): RawLine {
    const line = this.#line++;
    let bytes: Buffer | undefined;
    let size = this.#size;
    if (!this.#tooLong) {
      bytes = this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts, size);
      if (bytes.length > 0 && bytes[bytes.length - 1] === CR) {
        bytes = bytes.subarray(0, bytes.length - 1);
        size--;
      }
      if (size > this.#max) bytes = undefined;
    }
    this.#parts = [];
    this.#size = 0;
    this.#tooLong = false;
    return { line, bytes, size };
  }
}
