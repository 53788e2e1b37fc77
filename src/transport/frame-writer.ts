/**
 * The writing half of the framing (see frames.ts). Two lanes share one byte stream:
 * - the batch lane: small messages written in one loop turn go out together, as one JSON frame,
 *   handed to the socket at the end of the turn;
 * - the bulk lane (bulk-lane.ts): a big message becomes a frame of its own and waits in a queue;
 *   frames are handed to the socket only while it holds less than `HANDOFF_BYTES`, the rest as
 *   it drains, and a very big one a part at a time. A small message so never waits behind
 *   megabytes already handed over.
 *
 * How a message may pass big messages queued before it ({@link Overtake}):
 * - `false`: it keeps its place behind everything written before it;
 * - `true` (a task, a task's answer): it may pass them when every one of them was also sent with
 *   `true` (they are unrelated: different tasks), never one that keeps its place (such as the
 *   task's own streamed results);
 * - `'free'` (a ping, a pong): it passes everything; it only says that the loop turns.
 */
import { BulkLane, type FrameSink } from './bulk-lane.ts';
import { jsonFrame, writeInteger } from './frame-bytes.ts';
import { CODEC_JSON, CODEC_MIXED, CODEC_V8, HEADER } from './frames.ts';
import { serializeV8 } from './v8-codec.ts';

export { HANDOFF_BYTES, PART_BYTES, type FrameSink } from './bulk-lane.ts';

/** How a message may pass big messages queued before it (see the top of this file). */
export type Overtake = boolean | 'free';

/** A message at least this long (JSON characters or V8 bytes) travels in the bulk lane. */
export const BULK_BYTES = 16 * 1024;
/**
 * Once the batch lane holds this much it is written at once rather than at the end of the loop
 * turn: a burst of small messages streams instead of going out in one piece, and the other side
 * starts on its first messages while this one still makes the rest. 8 KiB rather than 64: C (a
 * burst of 2,000 tasks every 20 ms) 394 -> 380 and 386 -> 379 ms, A, B and F unchanged
 * (medians of 12, 12, 8 and 4 alternating runs; manual/performance-notes.md, C).
 */
const EAGER_BYTES = 8 * 1024;
/** Where a JSON frame is built before it is copied out; grows for a frame that needs more. */
const SCRATCH_BYTES = 64 * 1024;

const OPEN = 0x5b; // '['
const COMMA = 0x2c; // ','
const CLOSE = 0x5d; // ']'

export class FrameWriter {
  readonly #sink: FrameSink;
  #scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  /** Bytes of the JSON frame being built (its header included), or 0 when none is. */
  #jsonEnd = 0;
  /** Batch-lane frames of this loop turn, written at its end. */
  #out: Buffer[] = [];
  readonly #bulk: BulkLane;
  #scheduled = false;
  /** See {@link hold}. */
  #held = false;
  #closed = false;
  readonly #flush = (): void => {
    this.#scheduled = false;
    if (!this.#held) this.flush();
  };

  constructor(sink: FrameSink) {
    this.#sink = sink;
    this.#bulk = new BulkLane(sink);
  }

  /** Queue one message already encoded as JSON text. */
  json(text: string, overtake: Overtake = false): void {
    if (this.#closed) return;
    if (this.#toBulk(text.length, overtake)) return this.#queueBulk(jsonFrame('[', text, ']'), undefined, overtake);
    this.#open(text.length * 3);
    this.#jsonEnd += this.#scratch.write(text, this.#jsonEnd);
    this.#written();
  }

  /**
   * Queue the message `[kind,a,b,json]`, where `kind`, `a` and `b` are non-negative safe
   * integers and `json` is JSON text; `b` undefined or `json` '' is left out (`[kind,a]`,
   * `[kind,a,b]`). The same bytes as `json()` of that text, without making the text.
   */
  tuple(kind: number, a: number, b: number | undefined, json: string, overtake: Overtake = false): void {
    if (this.#closed) return;
    if (this.#toBulk(json.length, overtake)) {
      const head = `[[${kind},${a}${b === undefined ? '' : `,${b}`}${json === '' ? '' : ','}`;
      return this.#queueBulk(jsonFrame(head, json, ']]'), undefined, overtake);
    }
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
  clone(message: unknown, overtake: Overtake = false): void {
    if (this.#closed) return;
    const body = serializeV8(message);
    const prefix = Buffer.allocUnsafe(HEADER);
    prefix.writeUInt32BE(body.length, 0);
    prefix[4] = CODEC_V8;
    this.#binary(prefix, body, overtake);
  }

  /**
   * Queue the message `[kind,a,b,value]` (`b` undefined is left out), `value` given as the bytes
   * `v8.serialize` made of it. Big bytes are written as they are, never copied (they may be
   * written again: a task sent to a second worker); small ones share a buffer with their head.
   */
  tupleWithClone(kind: number, a: number, b: number | undefined, value: Buffer, overtake: Overtake = false): void {
    this.#mixed(b === undefined ? `[${kind},${a}]` : `[${kind},${a},${b}]`, value, overtake);
  }

  /**
   * Queue the message `head` (the JSON text of an object) with its `value` field set to
   * what `value` (bytes made by `v8.serialize`) holds; written like {@link tupleWithClone}.
   */
  objectWithClone(head: string, value: Buffer, overtake: Overtake = false): void {
    this.#mixed(head, value, overtake);
  }

  #mixed(head: string, value: Buffer, overtake: Overtake): void {
    if (this.#closed) return;
    const headBytes = Buffer.byteLength(head); // UTF-8: an init's head holds the pool's tags, say, which may be any text
    const prefix = Buffer.allocUnsafe(HEADER + 4 + headBytes);
    prefix.writeUInt32BE(4 + headBytes + value.length, 0);
    prefix[4] = CODEC_MIXED;
    prefix.writeUInt32BE(headBytes, HEADER);
    prefix.write(head, HEADER + 4, 'utf8');
    this.#binary(prefix, value, overtake);
  }

  /**
   * While held, the batch lane is not written at the end of each loop turn: only once it holds
   * 8 KiB, or on an explicit `flush()`. Released, it goes out at the end of the turn.
   */
  hold(held: boolean): void {
    this.#held = held;
    if (!held && (this.#jsonEnd > 0 || this.#out.length > 0)) this.#schedule();
  }

  /** Write out the batch lane and hand over what the bulk lane may (normally done once per turn). */
  flush(): void {
    this.#writeOut();
    this.#bulk.pump();
  }

  /** Write out everything queued in both lanes, regardless of how much the sink holds (before closing it). */
  flushAll(): void {
    this.#writeOut();
    this.#bulk.flushAll();
  }

  /** Drop anything queued and refuse further messages (the peer is gone). */
  close(): void {
    this.#closed = true;
    this.#jsonEnd = 0;
    this.#out = [];
    this.#bulk.clear();
  }

  /** Does a message of `size` go to the bulk lane? Big ones do, and so does one that may not pass what is queued there. */
  #toBulk(size: number, overtake: Overtake): boolean {
    if (size >= BULK_BYTES) return true;
    return overtake !== 'free' && this.#bulk.length > 0 && (!overtake || this.#bulk.ordered > 0);
  }

  /** A frame of a prefix and a body made by V8's serializer: big bodies are never copied. */
  #binary(prefix: Buffer, body: Buffer, overtake: Overtake): void {
    if (this.#toBulk(body.length, overtake)) return this.#queueBulk(prefix, body, overtake);
    this.#closeJsonFrame();
    this.#out.push(Buffer.concat([prefix, body], prefix.length + body.length));
    this.#schedule();
  }

  #queueBulk(head: Buffer, tail: Buffer | undefined, overtake: Overtake): void {
    // What the batch lane holds was written before this frame: it goes first.
    this.#writeOut();
    this.#bulk.push(head, tail, !overtake);
  }

  #writeOut(): void {
    this.#closeJsonFrame();
    const out = this.#out;
    if (out.length === 0 || this.#closed) return;
    this.#out = [];
    if (out.length === 1) {
      this.#sink.write(out[0] as Buffer);
      return;
    }
    this.#sink.cork?.();
    for (const frame of out) this.#sink.write(frame);
    this.#sink.uncork?.();
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
    if (this.#jsonEnd >= EAGER_BYTES) this.#writeOut();
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
    if (this.#scheduled || this.#held) return;
    this.#scheduled = true;
    setImmediate(this.#flush);
  }
}
