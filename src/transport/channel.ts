/**
 * A message channel over a private duplex pipe between a pool and one child. Messages written
 * in the same tick go out in one write; incoming bytes are split back into raw messages and
 * handed over as `unknown` (the receiving side parses them at its boundary).
 */
import type { Duplex } from 'node:stream';
import { FrameReader, FrameWriter } from './frames.ts';
import { travelsAsJson } from './encode.ts';

export interface ChannelEvents {
  /** One raw message, not yet parsed. */
  message(raw: unknown): void;
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
      }
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
  sendJson(text: string): void {
    this.#writer.json(text);
  }

  /** Send `[kind,a,b]`, or `[kind,a,b,json]` when `json` is not '' (`b` undefined: left out); see `FrameWriter.tuple`. */
  sendTuple(kind: number, a: number, b: number | undefined, json: string): void {
    this.#writer.tuple(kind, a, b, json);
  }

  /**
   * Send a control message. Its payload fields must already have been checked with
   * `encodePayload`; anything JSON cannot carry goes through V8's serializer.
   */
  send(message: object): void {
    if (travelsAsJson(message)) this.#writer.json(JSON.stringify(message));
    else this.#writer.clone(message);
  }

  /** Write out what is queued now, then call back once the bytes are handed to the OS. */
  flush(callback?: () => void): void {
    this.#writer.flush();
    if (callback) this.#socket.write(Buffer.alloc(0), () => callback());
  }

  /** Flush, then half-close the pipe; `callback` runs once everything was written. */
  end(callback?: () => void): void {
    this.#writer.flush();
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
