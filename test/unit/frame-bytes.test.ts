/** The frame bytes built outside the writer's batch buffer (src/transport/frame-bytes.ts). */
import { describe, expect, it } from 'vitest';
import { jsonFrame, writeInteger } from '../../src/transport/frame-bytes.ts';
import { FrameReader } from '../../src/transport/frames.ts';

describe('frame bytes', () => {
  it.each([0, 7, 9, 10, 99, 100, 12_345, 4_294_967_296, Number.MAX_SAFE_INTEGER])('writes %d in decimal in place, returning its end', (n) => {
    const buf = Buffer.alloc(24, 0x2e); // '.'
    const end = writeInteger(buf, 3, n);
    expect(end).toBe(3 + String(n).length);
    expect(buf.toString('latin1')).toBe(`...${n}${'.'.repeat(21 - String(n).length)}`);
  });

  it('makes a JSON frame of its own that the reader decodes, multi-byte characters included', () => {
    const json = JSON.stringify({ text: 'é€😀', n: [1, 2] });
    const frame = jsonFrame('[[1,42,', json, ']]');
    const out: unknown[] = [];
    new FrameReader(1 << 20).push(frame, (m) => out.push(m));
    expect(out).toEqual([[1, 42, { text: 'é€😀', n: [1, 2] }]]);
  });
});
