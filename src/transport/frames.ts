/**
 * Framing of the data channel. A frame is `[u32 body length][u8 codec][body]`:
 * - codec `J`: the body is a JSON array of messages (every message written in one tick, batched);
 * - codec `V`: the body is one message in V8's serialization format (values JSON cannot carry).
 * One write per loop turn; one `JSON.parse` per frame on the other side.
 */
import v8 from 'node:v8';

export const CODEC_JSON = 0x4a; // 'J'
export const CODEC_V8 = 0x56; // 'V'
const HEADER = 5;
/**
 * Once this much is queued it is written at once rather than at the end of the loop turn: big
 * messages stream (the peer starts reading while more are produced) instead of going out in one
 * burst per turn. Small messages still share one write per turn.
 */
const EAGER_BYTES = 64 * 1024;

/** Something frames are written to: a socket or a test double. */
export interface FrameSink {
  write(chunk: Buffer): unknown;
  /** Optional: gather the writes until `uncork()` into one system call (a socket's writev). */
  cork?(): void;
  uncork?(): void;
}

/** Where a JSON frame is built before it is copied out; grows for a frame that needs more. */
const SCRATCH_BYTES = 64 * 1024;
const OPEN = 0x5b; // '['
const COMMA = 0x2c; // ','
const CLOSE = 0x5d; // ']'
const ZERO = 0x30; // '0'

/**
 * Collects messages written in one tick and writes them as few frames as possible. JSON messages
 * are written straight into a scratch buffer as the frame's body (`[m1,m2,...]`), so a message
 * leaves no string behind; at the end of the tick the frame is copied out in one exact-size
 * buffer (the socket keeps that one until it is written, and the scratch buffer is reused).
 */
export class FrameWriter {
  readonly #sink: FrameSink;
  #scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  /** Bytes of the JSON frame being built (its header included), or 0 when none is. */
  #jsonEnd = 0;
  #out: Buffer[] = [];
  #scheduled = false;
  #closed = false;
  readonly #flush = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  constructor(sink: FrameSink) {
    this.#sink = sink;
  }

  /** Queue one message already encoded as JSON text. */
  json(text: string): void {
    if (this.#closed) return;
    this.#open(text.length * 3);
    this.#jsonEnd += this.#scratch.write(text, this.#jsonEnd);
    this.#written();
  }

  /**
   * Queue the message `[kind,a,b,json]`, where `kind`, `a` and `b` are non-negative safe
   * integers and `json` is JSON text; `b` undefined or `json` '' is left out (`[kind,a]`,
   * `[kind,a,b]`). The same bytes as `json()` of that text, without making the text.
   */
  tuple(kind: number, a: number, b: number | undefined, json: string): void {
    if (this.#closed) return;
    this.#open(json.length * 3 + 64);
    const buf = this.#scratch;
    let end = this.#jsonEnd;
    buf[end++] = OPEN;
    end = writeInteger(buf, end, kind);
    buf[end++] = COMMA;
    end = writeInteger(buf, end, a);
    if (b !== undefined) {
      buf[end++] = COMMA;
      end = writeInteger(buf, end, b);
    }
    if (json !== '') {
      buf[end++] = COMMA;
      end += buf.write(json, end);
    }
    buf[end++] = CLOSE;
    this.#jsonEnd = end;
    this.#written();
  }

  /** Queue one message that needs V8's serializer. */
  clone(message: unknown): void {
    if (this.#closed) return;
    this.#closeJsonFrame();
    const body = v8.serialize(message);
    const frame = Buffer.allocUnsafe(HEADER + body.length);
    frame.writeUInt32BE(body.length, 0);
    frame[4] = CODEC_V8;
    body.copy(frame, HEADER);
    this.#out.push(frame);
    if (frame.length >= EAGER_BYTES) this.flush();
    else this.#schedule();
  }

  /** Write out everything queued now (normally done once per tick). */
  flush(): void {
    this.#closeJsonFrame();
    const out = this.#out;
    if (out.length === 0 || this.#closed) return;
    this.#out = [];
    if (out.length === 1) {
      this.#sink.write(out[0] as Buffer);
      return;
    }
    // Several frames (big payloads): one writev, without copying them into one buffer first.
    this.#sink.cork?.();
    for (const frame of out) this.#sink.write(frame);
    this.#sink.uncork?.();
  }

  /** Drop anything queued and refuse further messages (the peer is gone). */
  close(): void {
    this.#closed = true;
    this.#jsonEnd = 0;
    this.#out = [];
  }

  /** Make room for `bytes` more of a message, opening a frame (or adding a comma) first. */
  #open(bytes: number): void {
    const need = Math.max(this.#jsonEnd, HEADER) + 1 + bytes + 1;
    if (need > this.#scratch.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.#scratch.length * 2));
      this.#scratch.copy(bigger, 0, 0, this.#jsonEnd);
      this.#scratch = bigger;
    }
    if (this.#jsonEnd === 0) {
      this.#scratch[4] = CODEC_JSON;
      this.#scratch[HEADER] = OPEN;
      this.#jsonEnd = HEADER + 1;
    } else {
      this.#scratch[this.#jsonEnd++] = COMMA;
    }
  }

  #written(): void {
    if (this.#jsonEnd >= EAGER_BYTES) this.flush();
    else this.#schedule();
  }

  #closeJsonFrame(): void {
    if (this.#jsonEnd === 0) return;
    const scratch = this.#scratch;
    scratch[this.#jsonEnd++] = CLOSE;
    scratch.writeUInt32BE(this.#jsonEnd - HEADER, 0);
    const frame = Buffer.allocUnsafe(this.#jsonEnd);
    scratch.copy(frame, 0, 0, this.#jsonEnd);
    this.#jsonEnd = 0;
    // A scratch buffer grown for one big frame goes back to the usual size.
    if (scratch.length > 4 * SCRATCH_BYTES) this.#scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
    this.#out.push(frame);
  }

  /**
   * Flush in the loop's check phase: every message written by the callbacks of one loop turn
   * (all the timers that fired, all the data that arrived) goes out in one write. A nextTick
   * flush would write once per callback: Node drains the nextTick queue after each timer.
   */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#flush);
  }
}

/** Write `n` (a non-negative safe integer) in decimal at `at`; returns the end. */
function writeInteger(buf: Buffer, at: number, n: number): number {
  if (n < 10) {
    buf[at] = ZERO + n;
    return at + 1;
  }
  let digits = 1;
  for (let rest = Math.floor(n / 10); rest > 0; rest = Math.floor(rest / 10)) digits++;
  const end = at + digits;
  let rest = n;
  for (let i = end - 1; i >= at; i--) {
    buf[i] = ZERO + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return end;
}

/** Thrown by {@link FrameReader} on bytes that are not a valid frame stream. */
export class FrameFormatError extends Error {}

/** Splits a byte stream back into messages (each still `unknown`: parse them at the boundary). */
export class FrameReader {
  readonly #maxFrameBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #need = HEADER;

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
      decodeFrame(buf, offset, end, onMessage);
      offset = end;
    }
    const rest = buf.length - offset;
    this.#chunks = rest === 0 ? [] : [offset === 0 ? buf : buf.subarray(offset)];
    this.#buffered = rest;
    this.#need = rest >= HEADER ? HEADER + this.#frameLength(buf, offset) : HEADER;
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
      message = v8.deserialize(buf.subarray(start + HEADER, end));
    } catch (err) {
      throw new FrameFormatError(`malformed V8 frame: ${(err as Error).message}`);
    }
    onMessage(message);
  } else {
    throw new FrameFormatError(`unknown frame codec ${String(codec)}`);
  }
}
