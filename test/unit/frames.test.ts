import { describe, expect, it } from 'vitest';
import { prng } from '../helpers/prng.ts';
import { FrameFormatError, FrameReader, FrameWriter } from '../../src/transport/frames.ts';


describe('frames', () => {
  it('batches the messages written in one loop turn, across callbacks, into one write', async () => {
    const writes: Buffer[] = [];
    const w = new FrameWriter({ write: (b) => writes.push(b) });
    for (let i = 0; i < 50; i++) w.json(`{"i":${i}}`);
    // A second callback of the same turn (as when several timers fire together).
    await new Promise<void>((resolve) => process.nextTick(() => {
      for (let i = 50; i < 100; i++) w.json(`{"i":${i}}`);
      resolve();
    }));
    expect(writes).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(1);
    const out: unknown[] = [];
    new FrameReader(1 << 20).push(writes[0] as Buffer, (m) => out.push(m));
    expect(out).toEqual(Array.from({ length: 100 }, (_, i) => ({ i })));
  });

  it('keeps order across JSON and V8 frames and survives any chunking', () => {
    const random = prng(42);
    for (let round = 0; round < 50; round++) {
      const writes: Buffer[] = [];
      const w = new FrameWriter({ write: (b) => writes.push(b) });
      const sent: unknown[] = [];
      for (let i = 0; i < 30; i++) {
        if (random() < 0.3) {
          const m = { i, map: new Map([[i, 'x'.repeat(Math.floor(random() * 5000))]]) };
          w.clone(m);
          sent.push(m);
        } else {
          const m = { i, s: 'é'.repeat(Math.floor(random() * 3000)) };
          w.json(JSON.stringify(m));
          sent.push(m);
        }
      }
      w.flush();
      const bytes = Buffer.concat(writes);
      const reader = new FrameReader(1 << 20);
      const got: unknown[] = [];
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(random() * 700);
        reader.push(bytes.subarray(at, at + size), (m) => got.push(m));
        at += size;
      }
      expect(got).toEqual(sent);
    }
  });

  it('rejects a frame over the limit, an unknown codec and malformed JSON', () => {
    const header = (length: number, codec: number) => {
      const b = Buffer.alloc(5);
      b.writeUInt32BE(length, 0);
      b[4] = codec;
      return b;
    };
    expect(() => new FrameReader(10).push(header(11, 0x4a), () => {})).toThrow(FrameFormatError);
    expect(() => new FrameReader(10).push(Buffer.concat([header(1, 0x21), Buffer.from('x')]), () => {})).toThrow(/unknown frame codec/);
    expect(() => new FrameReader(10).push(Buffer.concat([header(2, 0x4a), Buffer.from('[x')]), () => {})).toThrow(/malformed JSON/);
    expect(() => new FrameReader(10).push(Buffer.concat([header(2, 0x4a), Buffer.from('{}')]), () => {})).toThrow(/array of messages/);
  });
});
