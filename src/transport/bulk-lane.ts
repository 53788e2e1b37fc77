/**
 * The bulk lane of a {@link FrameWriter}: big frames wait in a queue and are handed to the sink
 * only while it holds less than {@link HANDOFF_BYTES}, the rest as it drains. A frame longer
 * than {@link PART_BYTES} is handed over a part at a time, each part a frame of its own (codec
 * `P`, see frames.ts), so the small messages written meanwhile go out between two parts: a
 * message of 60 MB holds a small task, an answer or a ping back by one part, not by 60 MB
 * (a ping held that long made a healthy worker look blocked, and got it killed).
 */
import { Deque } from '../internal/deque.ts';
import { CODEC_PART, HEADER } from './frames.ts';

/** Bulk frames are handed to the sink while it holds less than this (bytes it has not yet passed to the OS). */
export const HANDOFF_BYTES = 128 * 1024;
/** A frame longer than this goes in parts of this size. */
export const PART_BYTES = 256 * 1024;

/** Something frames are written to: a socket or a test double. */
export interface FrameSink {
  write(chunk: Buffer): unknown;
  /** Optional: gather the writes until `uncork()` into one system call (a socket's writev). */
  cork?(): void;
  uncork?(): void;
  /** Bytes handed over but not yet passed to the OS; without it, bulk frames are handed over at once. */
  readonly writableLength?: number;
  /** Called once the sink has passed everything to the OS (after a write that filled it). */
  once?(event: 'drain', listener: () => void): unknown;
}

/** A frame waiting in the bulk lane: its bytes (in one or two parts) and whether it keeps its place. */
interface BulkFrame {
  readonly head: Buffer;
  readonly tail: Buffer | undefined;
  readonly ordered: boolean;
}

export class BulkLane {
  readonly #sink: FrameSink;
  /** Frames not yet handed over in full, oldest first (thousands when many big tasks wait). */
  readonly #queue = new Deque<BulkFrame>();
  /** How many queued frames keep their place: while any is queued, only free messages pass. */
  #ordered = 0;
  /** Bytes of the oldest frame already handed over as parts. */
  #sent = 0;
  #waitingDrain = false;
  readonly #drained = (): void => {
    this.#waitingDrain = false;
    this.pump();
  };

  constructor(sink: FrameSink) {
    this.#sink = sink;
  }

  /** Frames queued, the one being handed over in parts included. */
  get length(): number {
    return this.#queue.length;
  }

  /** Queued frames that keep their place. */
  get ordered(): number {
    return this.#ordered;
  }

  push(head: Buffer, tail: Buffer | undefined, ordered: boolean): void {
    this.#queue.push({ head, tail, ordered });
    if (ordered) this.#ordered++;
    this.pump();
  }

  /** Hand frames (or parts) to the sink while it holds less than HANDOFF_BYTES; go on when it drains. */
  pump(): void {
    const sink = this.#sink;
    while (this.#queue.length > 0 && (sink.writableLength ?? 0) < HANDOFF_BYTES) {
      const frame = this.#queue.peek() as BulkFrame;
      const size = frame.head.length + (frame.tail?.length ?? 0);
      if (this.#sent === 0 && size <= PART_BYTES) {
        this.#done(frame);
        this.#whole(frame);
        continue;
      }
      const to = Math.min(size, this.#sent + PART_BYTES);
      this.#part(frame, this.#sent, to);
      if (to === size) this.#done(frame);
      else this.#sent = to;
    }
    // The write that filled the sink past its high-water mark guarantees a 'drain'.
    if (this.#queue.length > 0 && !this.#waitingDrain && sink.once) {
      this.#waitingDrain = true;
      sink.once('drain', this.#drained);
    }
  }

  /** Hand over everything queued, regardless of how much the sink holds (before closing it). */
  flushAll(): void {
    const first = this.#queue.peek();
    if (first && this.#sent > 0) {
      this.#part(first, this.#sent, first.head.length + (first.tail?.length ?? 0));
      this.#done(first);
    }
    for (const frame of this.#queue.drain()) this.#whole(frame);
    this.#ordered = 0;
  }

  /** Drop everything queued. */
  clear(): void {
    this.#queue.clear();
    this.#ordered = 0;
    this.#sent = 0;
  }

  /** The oldest frame is handed over: it leaves the queue. */
  #done(frame: BulkFrame): void {
    this.#queue.shift();
    this.#sent = 0;
    if (frame.ordered) this.#ordered--;
  }

  /** Both parts of a frame, one right after the other (nothing may come between them). */
  #whole(frame: BulkFrame): void {
    if (!frame.tail) {
      this.#sink.write(frame.head);
      return;
    }
    this.#sink.cork?.();
    this.#sink.write(frame.head);
    this.#sink.write(frame.tail);
    this.#sink.uncork?.();
  }

  /** Bytes `from` to `to` of a frame (its head and tail as one), as a part frame; never copied. */
  #part(frame: BulkFrame, from: number, to: number): void {
    const header = Buffer.allocUnsafe(HEADER);
    header.writeUInt32BE(to - from, 0);
    header[4] = CODEC_PART;
    const { head, tail } = frame;
    this.#sink.cork?.();
    this.#sink.write(header);
    if (from < head.length) this.#sink.write(head.subarray(from, Math.min(to, head.length)));
    if (tail && to > head.length) this.#sink.write(tail.subarray(Math.max(from, head.length) - head.length, to - head.length));
    this.#sink.uncork?.();
  }
}
