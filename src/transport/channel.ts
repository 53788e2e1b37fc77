/**
 * A message channel over a private duplex pipe between a pool and one child. Messages written
 * in the same tick go out in one write, big ones in a lane of their own (see frame-writer.ts);
 * incoming bytes are split back into raw messages and handed over as `unknown` (the receiving
 * side parses them at its boundary).
 *
 * `overtake`: `true`: the message depends on nothing sent before it, or only on messages that
 * keep their place (a task, a task's answer). It may then pass big messages queued before it
 * that were sent with `overtake` too, never one that keeps its place (such as the task's own
 * streamed results); `'free'` (a ping or pong) passes everything; every other message keeps
 * its place.
 */
import type { Duplex } from 'node:stream';
import { FrameReader } from './frames.ts';
import { FrameWriter, type Overtake } from './frame-writer.ts';
import { travelsAsJson } from './encode.ts';

export interface ChannelEvents {
  /** One raw message, not yet parsed. */
  message(raw: unknown): void;
  /** The messages of one read have all been handed over. */
  readEnd?(): void;
  /** The byte stream was malformed: the peer is broken. */
  corrupt(err: Error): void;
  /** The pipe closed (the peer exited or closed it). */
  close(): void;
}

export class Channel {
  readonly #socket: Duplex;
  readonly #writer: FrameWriter;
  readonly #reader: FrameReader;
  #open = true;

  constructor(socket: Duplex, maxFrameBytes: number, events: ChannelEvents) {
    this.#socket = socket;
    this.#writer = new FrameWriter(socket);
    this.#reader = new FrameReader(maxFrameBytes);
    socket.on('data', (chunk: Buffer) => {
      if (!this.#open) return;
      try {
        this.#reader.push(chunk, events.message);
      } catch (err) {
        this.#open = false;
        events.corrupt(err as Error);
        return;
      }
      events.readEnd?.();
    });
    socket.on('error', () => {
      // EPIPE/ECONNRESET race the peer's exit; the exit (or 'close') is what reports the death.
    });
    socket.on('close', () => {
      this.#open = false;
      this.#writer.close();
      events.close();
    });
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /** Send a message already encoded as JSON text (the hot path builds these directly). */
  sendJson(text: string, overtake: Overtake = false): void {
    this.#writer.json(text, overtake);
  }

  /** Send `[kind,a,b]`, or `[kind,a,b,json]` when `json` is not '' (`b` undefined: left out); see `FrameWriter.tuple`. */
  sendTuple(kind: number, a: number, b: number | undefined, json: string, overtake: Overtake = false): void {
    this.#writer.tuple(kind, a, b, json, overtake);
  }

  /** Send `[kind,a,b,value]` (`b` undefined: left out), `value` given as `v8.serialize`'s bytes; see `FrameWriter.tupleWithClone`. */
  sendTupleWithClone(kind: number, a: number, b: number | undefined, value: Buffer, overtake: Overtake = false): void {
    this.#writer.tupleWithClone(kind, a, b, value, overtake);
  }

  /**
   * Send the object `head` (JSON text) with its `value` field as `encodePayload` made it: JSON
   * text spliced in, or V8's bytes in a mixed frame; left out when `undefined` or ''.
   */
  sendWithValue(head: string, value: string | Buffer | undefined, overtake: Overtake = false): void {
    if (typeof value === 'object') this.#writer.objectWithClone(head, value, overtake);
    else this.#writer.json(value ? `${head.slice(0, -1)},"value":${value}}` : head, overtake);
  }

  /**
   * Send a control message. Its payload fields must already have been checked with
   * `encodePayload`; anything JSON cannot carry goes through V8's serializer.
   */
  send(message: object, overtake: Overtake = false): void {
    if (travelsAsJson(message)) this.#writer.json(JSON.stringify(message), overtake);
    else this.#writer.clone(message, overtake);
  }

  /** Hold small messages back across loop turns (or release them); see `FrameWriter.hold`. */
  hold(held: boolean): void {
    this.#writer.hold(held);
  }

  /** Write out what is queued now (big messages as far as the socket takes them). */
  flush(): void {
    this.#writer.flush();
  }

  /** Write out everything queued, then half-close the pipe; `callback` runs once everything was written. */
  end(callback?: () => void): void {
    this.#writer.flushAll();
    this.#writer.close();
    this.#socket.end(callback);
  }

  /** Stop reading and writing at once. */
  destroy(): void {
    this.#open = false;
    this.#writer.close();
    this.#socket.destroy();
  }
}
