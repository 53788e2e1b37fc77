/**
 * Framing of the data channel. A frame is `[u32 body length][u8 codec][body]`:
 * - codec `J`: the body is a JSON array of messages (every message written in one tick, batched);
 * - codec `V`: the body is one message in V8's serialization format (values JSON cannot carry);
 * - codec `M`: the body is `[u32 head length][head][value]`: the message is the head (UTF-8), a
 *   JSON array with one more element appended, or a JSON object with its `value` field set:
 *   `value`, in V8's format. A task, an answer or a streamed result whose
 *   payload JSON cannot carry (or carries slowly) travels so: the payload's bytes are made once,
 *   when it is submitted or returned, and written as they are.
 * - codec `P`: the body is the next bytes of a frame too big to be written at once (its header
 *   first); the frame is read once its parts are all in. Other frames come between the parts
 *   (bulk-lane.ts), never a part of another frame.
 * One `JSON.parse` per frame on the reading side; the writing side is frame-writer.ts.
 */
import { deserializeV8 } from './v8-codec.ts';

export const CODEC_JSON = 0x4a; // 'J'
export const CODEC_V8 = 0x56; // 'V'
export const CODEC_MIXED = 0x4d; // 'M'
export const CODEC_PART = 0x50; // 'P'
/** Bytes before a frame's body: its length (u32, big-endian) and its codec (u8). */
export const HEADER = 5;

/** Thrown by {@link FrameReader} on bytes that are not a valid frame stream. */
export class FrameFormatError extends Error {}

/** Splits a byte stream back into messages (each still `unknown`: parse them at the boundary). */
export class FrameReader {
  readonly #maxFrameBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #need = HEADER;
  /** The frame whose parts are coming in, and how many of its bytes are in. */
  #part: Buffer | undefined;
  #partFilled = 0;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Feed a chunk; calls `onMessage` for every complete message. Throws {@link FrameFormatError}. */
  push(chunk: Buffer, onMessage: (message: unknown) => void): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#buffered < this.#need) return; // a big frame arrives in many chunks: concatenate once
    const buf = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#buffered);
    let offset = 0;
    while (buf.length - offset >= HEADER) {
      const end = offset + HEADER + this.#frameLength(buf, offset);
      if (end > buf.length) break;
      if (buf[offset + 4] === CODEC_PART) this.#addPart(buf, offset + HEADER, end, onMessage);
      else decodeFrame(buf, offset, end, onMessage);
      offset = end;
    }
    const rest = buf.length - offset;
    this.#chunks = rest === 0 ? [] : [offset === 0 ? buf : buf.subarray(offset)];
    this.#buffered = rest;
    this.#need = rest >= HEADER ? HEADER + this.#frameLength(buf, offset) : HEADER;
  }

  /** Bytes `start` to `end` of `buf` are the next part of a frame: read that frame once it is whole. */
  #addPart(buf: Buffer, start: number, end: number, onMessage: (message: unknown) => void): void {
    if (this.#part === undefined) {
      if (end - start < HEADER) throw new FrameFormatError('the first part of a frame must hold its header');
      if (buf[start + 4] === CODEC_PART) throw new FrameFormatError('a part of a frame must not be a part itself');
      this.#part = Buffer.allocUnsafe(HEADER + this.#frameLength(buf, start));
      this.#partFilled = 0;
    }
    const part = this.#part;
    if (this.#partFilled + (end - start) > part.length) throw new FrameFormatError('the parts of a frame are longer than the frame');
    this.#partFilled += buf.copy(part, this.#partFilled, start, end);
    if (this.#partFilled < part.length) return;
    this.#part = undefined;
    decodeFrame(part, 0, part.length, onMessage);
  }

  #frameLength(buf: Buffer, offset: number): number {
    const length = buf.readUInt32BE(offset);
    if (length > this.#maxFrameBytes) {
      throw new FrameFormatError(`frame of ${length} bytes exceeds the limit of ${this.#maxFrameBytes}`);
    }
    return length;
  }
}

function decodeFrame(buf: Buffer, start: number, end: number, onMessage: (m: unknown) => void): void {
  const codec = buf[start + 4];
  if (codec === CODEC_JSON) {
    let batch: unknown;
    try {
      batch = JSON.parse(buf.toString('utf8', start + HEADER, end));
    } catch (err) {
      throw new FrameFormatError(`malformed JSON frame: ${(err as Error).message}`);
    }
    if (!Array.isArray(batch)) throw new FrameFormatError('a JSON frame must hold an array of messages');
    for (let i = 0; i < batch.length; i++) onMessage(batch[i]);
  } else if (codec === CODEC_V8) {
    let message: unknown;
    try {
      message = deserializeV8(buf.subarray(start + HEADER, end));
    } catch (err) {
      throw new FrameFormatError(`malformed V8 frame: ${(err as Error).message}`);
    }
    onMessage(message);
  } else if (codec === CODEC_MIXED) {
    onMessage(decodeMixed(buf, start + HEADER, end));
  } else {
    throw new FrameFormatError(`unknown frame codec ${String(codec)}`);
  }
}

function decodeMixed(buf: Buffer, start: number, end: number): object {
  const headEnd = start + 4 + (end - start >= 4 ? buf.readUInt32BE(start) : 0);
  if (end - start < 4 || headEnd > end) throw new FrameFormatError('malformed mixed frame: its head does not fit');
  let head: unknown;
  try {
    head = JSON.parse(buf.toString('utf8', start + 4, headEnd));
  } catch (err) {
    throw new FrameFormatError(`malformed mixed frame: ${(err as Error).message}`);
  }
  if (head === null || typeof head !== 'object') throw new FrameFormatError('a mixed frame must have a JSON array or object as its head');
  let value: unknown;
  try {
    value = deserializeV8(buf.subarray(headEnd, end));
  } catch (err) {
    throw new FrameFormatError(`malformed mixed frame: ${(err as Error).message}`);
  }
  if (Array.isArray(head)) head.push(value);
  else (head as { value?: unknown }).value = value;
  return head;
}
