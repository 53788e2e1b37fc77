/** The bytes of frames built outside the batch lane's buffer, and decimal integers written in place (see frame-writer.ts). */
import { CODEC_JSON, HEADER } from './frames.ts';

const ZERO = 0x30; // '0'

/** A JSON frame of its own whose body is `head + json + tail` (`head` and `tail` ASCII). */
export function jsonFrame(head: string, json: string, tail: string): Buffer {
  const length = head.length + Buffer.byteLength(json) + tail.length;
  const frame = Buffer.allocUnsafe(HEADER + length);
  frame.writeUInt32BE(length, 0);
  frame[4] = CODEC_JSON;
  let at = HEADER + frame.write(head, HEADER, 'latin1');
  at += frame.write(json, at);
  frame.write(tail, at, 'latin1');
  return frame;
}

/** Write `n` (a non-negative safe integer) in decimal at `at`; returns the end. */
export function writeInteger(buf: Buffer, at: number, n: number): number {
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
