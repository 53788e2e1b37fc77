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

  it('writes a tuple as the same bytes as json() of its text, for any integers and payloads', () => {
    const random = prng(7);
    const payloads = ['', '0', '"é✓𝄞"', '{"a":[1,2,3]}', JSON.stringify('x'.repeat(70_000)), JSON.stringify({ s: '\u2028"\\' })];
    const integers = [0, 1, 9, 10, 99, 100, 12_345, 2 ** 31, Number.MAX_SAFE_INTEGER];
    for (let round = 0; round < 200; round++) {
      const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)] as T;
      const [kind, a, json] = [pick([0, 1]), pick(integers), pick(payloads)];
      const b = random() < 0.5 ? undefined : pick(integers);
      const text = `[${[kind, a, ...(b === undefined ? [] : [b])].join(',')}${json === '' ? '' : `,${json}`}]`;
      const viaTuple: Buffer[] = [];
      const viaJson: Buffer[] = [];
      const t = new FrameWriter({ write: (x) => viaTuple.push(x) });
      const j = new FrameWriter({ write: (x) => viaJson.push(x) });
      t.json('{"before":1}');
      j.json('{"before":1}');
      t.tuple(kind, a, b, json);
      j.json(text);
      t.flush();
      j.flush();
      expect(Buffer.concat(viaTuple).equals(Buffer.concat(viaJson))).toBe(true);
      const got: unknown[] = [];
      new FrameReader(1 << 20).push(Buffer.concat(viaTuple), (m) => got.push(m));
      expect(got).toEqual([{ before: 1 }, JSON.parse(text)]);
    }
  });

  it('builds frames in one buffer it reuses: each write is a copy the next frame does not touch', () => {
    const writes: Buffer[] = [];
    const w = new FrameWriter({ write: (b) => writes.push(b) });
    w.tuple(0, 1, 1, '"first"');
    w.flush();
    const first = Buffer.from(writes[0] as Buffer);
    w.tuple(0, 2, 1, '"second, longer than the first"');
    w.json(JSON.stringify('y'.repeat(300_000))); // grows the buffer past its usual size
    w.flush();
    w.tuple(0, 3, 1, '"third"');
    w.flush();
    expect((writes[0] as Buffer).equals(first)).toBe(true);
    const got: unknown[] = [];
    const reader = new FrameReader(1 << 20);
    for (const b of writes) reader.push(b, (m) => got.push(m));
    expect(got).toEqual([[0, 1, 1, 'first'], [0, 2, 1, 'second, longer than the first'], 'y'.repeat(300_000), [0, 3, 1, 'third']]);
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
