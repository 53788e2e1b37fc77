import { describe, expect, it } from 'vitest';
import { prng } from '../helpers/prng.ts';
import { EventEmitter } from 'node:events';
import v8 from 'node:v8';
import { FrameFormatError, FrameReader } from '../../src/transport/frames.ts';
import { BULK_BYTES, FrameWriter, HANDOFF_BYTES, PART_BYTES } from '../../src/transport/frame-writer.ts';


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

  it('while held, writes nothing at the end of a turn until released, flushed, or 8 KiB are queued', async () => {
    const writes: Buffer[] = [];
    const w = new FrameWriter({ write: (b) => writes.push(b) });
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    const messages = () => {
      const out: unknown[] = [];
      const reader = new FrameReader(1 << 20);
      for (const b of writes) reader.push(b, (m) => out.push(m));
      return out;
    };
    w.json('{"i":0}'); // written before the hold: its flush is already scheduled, and is held too
    w.hold(true);
    w.json('{"i":1}');
    await turn();
    await turn();
    expect(writes).toHaveLength(0);
    w.hold(false);
    expect(writes).toHaveLength(0); // at the end of this turn, not at once
    await turn();
    expect(messages()).toEqual([{ i: 0 }, { i: 1 }]);

    w.hold(true);
    w.json('{"i":2}');
    w.flush(); // an explicit flush writes even while held
    expect(messages()).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    const before = writes.length;
    for (let i = 3; i < 1003; i++) w.json(`{"i":${i}}`); // ~9 KiB
    await turn();
    expect(writes.length).toBeGreaterThan(before);
    w.hold(false);
    await turn();
    expect(messages()).toEqual(Array.from({ length: 1003 }, (_, i) => ({ i })));
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

  it('writes a tuple whose last element (or an object whose value) is V8 bytes as they are, and reads it back as one message', () => {
    const writes: Buffer[] = [];
    const w = new FrameWriter({ write: (b) => writes.push(b) });
    const small = v8.serialize(new Map([[1, 'one']]));
    const big = v8.serialize('z'.repeat(3 * BULK_BYTES));
    w.json('{"before":1}');
    w.tupleWithClone(0, 7, 2, small);
    w.tupleWithClone(1, 2 ** 40, undefined, big);
    w.tupleWithClone(0, 8, 1, big); // the same bytes again (a task sent to a second worker)
    w.objectWithClone('{"kind":"result","task":3}', small);
    w.flush();
    expect(writes.filter((b) => b === big)).toHaveLength(2); // written as they are, not copied
    const got: unknown[] = [];
    const bytes = Buffer.concat(writes);
    const reader = new FrameReader(1 << 20);
    for (let at = 0; at < bytes.length; at += 1000) reader.push(bytes.subarray(at, at + 1000), (m) => got.push(m));
    expect(got).toEqual([{ before: 1 }, [0, 7, 2, new Map([[1, 'one']])], [1, 2 ** 40, 'z'.repeat(3 * BULK_BYTES)], [0, 8, 1, 'z'.repeat(3 * BULK_BYTES)], { kind: 'result', task: 3, value: new Map([[1, 'one']]) }]);
  });

  it('rejects a frame over the limit, an unknown codec and malformed JSON or mixed frames', () => {
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
    expect(() => new FrameReader(10).push(Buffer.concat([header(5, 0x4d), Buffer.from([0, 0, 0, 9, 0x5b])]), () => {})).toThrow(/malformed mixed frame/);
    expect(() => new FrameReader(10).push(Buffer.concat([header(5, 0x4d), Buffer.from([0, 0, 0, 1]), Buffer.from('7')]), () => {})).toThrow(/JSON array or object as its head/);
    // Parts (codec P): the frame they make is checked against the limit; a part of a part, too many bytes, no header
    const part = (body: Buffer) => Buffer.concat([header(body.length, 0x50), body]);
    expect(() => new FrameReader(10).push(part(header(11, 0x4a)), () => {})).toThrow(/exceeds the limit of 10/);
    expect(() => new FrameReader(10).push(part(header(3, 0x50)), () => {})).toThrow(/must not be a part itself/);
    expect(() => new FrameReader(10).push(part(Buffer.from([0, 0])), () => {})).toThrow(/must hold its header/);
    expect(() => new FrameReader(10).push(part(Buffer.concat([header(2, 0x4a), Buffer.from('[]]')])), () => {})).toThrow(/longer than the frame/);
  });

  it('gives every Buffer, typed array and DataView it reads memory of its own, not a view into the frame', () => {
    const writes: Buffer[] = [];
    const w = new FrameWriter({ write: (b) => writes.push(b) });
    const value = { a: Buffer.from('0123456789abcdef'), b: new Uint32Array([1, 2, 3, 4]), d: new DataView(new ArrayBuffer(8)), big: Buffer.alloc(BULK_BYTES * 2, 7) };
    w.tupleWithClone(0, 1, 1, v8.serialize(value));
    w.tupleWithClone(0, 2, 1, v8.serialize(value)); // read from the same chunk as the first
    w.flush();
    const got: [number, number, number, typeof value][] = [];
    new FrameReader(1 << 20).push(Buffer.concat(writes), (m) => got.push(m as [number, number, number, typeof value]));
    expect(got.map((m) => m[3])).toEqual([value, value]);
    for (const [, , , v] of got) {
      // Before: views into the frames' bytes (a 16-byte Buffer kept them all in memory, and showed them)
      expect(v.a.buffer.byteLength).toBe(16);
      expect(v.b.buffer.byteLength).toBe(16);
      expect(v.d.buffer.byteLength).toBe(8);
      expect(v.big.buffer.byteLength).toBe(BULK_BYTES * 2);
      expect(Buffer.isBuffer(v.a)).toBe(true);
    }
  });

  it('carries a mixed frame whose head is any text, however long (an init with the pool\'s tags)', () => {
    const writes: Buffer[] = [];
    const w = new FrameWriter({ write: (b) => writes.push(b) });
    const tags = { city: '東京', emoji: '🙂', long: 'é'.repeat(70_000) };
    w.objectWithClone(JSON.stringify({ kind: 'init', tags }), v8.serialize(new Map([[1, 2]])));
    w.flush();
    const got: unknown[] = [];
    const reader = new FrameReader(1 << 20);
    for (const b of writes) reader.push(b, (m) => got.push(m));
    expect(got).toEqual([{ kind: 'init', tags, value: new Map([[1, 2]]) }]);
  });

  describe('big messages travel in a lane of their own', () => {
    /** A socket as the writer sees it: bytes it holds until the OS takes them, then 'drain'. */
    class FakeSocket extends EventEmitter {
      held: Buffer[] = [];
      passed: Buffer[] = [];
      get writableLength(): number {
        return this.held.reduce((sum, b) => sum + b.length, 0);
      }
      write(chunk: Buffer): boolean {
        this.held.push(chunk);
        return this.writableLength < 16 * 1024;
      }
      /** The OS takes everything held. */
      drain(): void {
        this.passed.push(...this.held);
        this.held = [];
        this.emit('drain');
      }
      /** Every message handed over so far, in order. */
      messages(): unknown[] {
        const got: unknown[] = [];
        const reader = new FrameReader(1 << 24);
        for (const b of [...this.passed, ...this.held]) reader.push(b, (m) => got.push(m));
        return got;
      }
    }
    const big = (id: number) => `"${String(id).padEnd(BULK_BYTES, 'x')}"`;
    const idOf = (m: unknown) => (Array.isArray(m) ? m[1] : (m as { id: number }).id);
    /** Queue tasks 0..count-1 with big payloads: more than the socket is handed at once. */
    const queueBig = (w: FrameWriter, count: number) => {
      for (let id = 0; id < count; id++) w.tuple(0, id, 1, big(id), true);
    };
    const bigCount = Math.ceil((3 * HANDOFF_BYTES) / BULK_BYTES);

    it('hands the socket only a bounded amount, and the rest as it drains', () => {
      const socket = new FakeSocket();
      const w = new FrameWriter(socket);
      queueBig(w, bigCount);
      expect(socket.writableLength).toBeGreaterThanOrEqual(HANDOFF_BYTES);
      expect(socket.writableLength).toBeLessThan(HANDOFF_BYTES + 2 * BULK_BYTES);
      for (let round = 0; round < bigCount && socket.held.length > 0; round++) socket.drain();
      expect(socket.messages().map(idOf)).toEqual(Array.from({ length: bigCount }, (_, i) => i));
    });

    it('lets a small task pass big tasks not yet handed over', async () => {
      const socket = new FakeSocket();
      const w = new FrameWriter(socket);
      queueBig(w, bigCount);
      w.tuple(0, 1000, 1, '"small"', true);
      await new Promise((resolve) => setImmediate(resolve));
      const before = socket.messages().map(idOf);
      expect(before).toContain(1000);
      expect(before.length).toBeLessThan(bigCount + 1);
      while (socket.held.length > 0) socket.drain();
      const ids = socket.messages().map(idOf);
      expect(ids.filter((id) => id !== 1000)).toEqual(Array.from({ length: bigCount }, (_, i) => i));
      expect(ids.indexOf(1000)).toBeLessThan(bigCount);
    });

    it('keeps every other message behind what was written before it, and nothing passes those', async () => {
      const socket = new FakeSocket();
      const w = new FrameWriter(socket);
      queueBig(w, bigCount);
      w.json('{"kind":"abort","id":3}'); // may not pass task 3
      w.tuple(0, 1000, 1, '"small"', true); // may not pass the abort either
      await new Promise((resolve) => setImmediate(resolve));
      while (socket.held.length > 0) socket.drain();
      expect(socket.messages().map(idOf)).toEqual([...Array.from({ length: bigCount }, (_, i) => i), 3, 1000]);
    });

    it('hands a frame over PART_BYTES over a part at a time: small messages and pings go out between its parts', async () => {
      const socket = new FakeSocket();
      const w = new FrameWriter(socket);
      const huge = 'h'.repeat(6 * PART_BYTES);
      w.tuple(0, 1, 1, JSON.stringify(huge), true); // a task of 1.5 MB
      w.json('{"kind":"abort","id":1}'); // keeps its place behind the task
      w.tuple(0, 2, 1, '"small"', true); // may not pass the abort
      w.json('{"kind":"ping","id":7}', 'free'); // passes everything
      await new Promise((resolve) => setImmediate(resolve));
      expect(socket.writableLength).toBeLessThanOrEqual(HANDOFF_BYTES + PART_BYTES + 64); // one part handed over, not the task
      const early = socket.messages();
      expect(early).toEqual([{ kind: 'ping', id: 7 }]); // before the task's first part is through
      while (socket.held.length > 0) socket.drain();
      expect(socket.messages()).toEqual([{ kind: 'ping', id: 7 }, [0, 1, 1, huge], { kind: 'abort', id: 1 }, [0, 2, 1, 'small']]);
      expect(socket.passed.filter((b) => b.length === 5 && b[4] === 0x50).length).toBeGreaterThanOrEqual(6); // part headers
    });

    it('lets a small task pass the rest of a frame handed over in parts, and reads back the same bytes for any chunking', async () => {
      const socket = new FakeSocket();
      const w = new FrameWriter(socket);
      const value = new Uint8Array(3 * PART_BYTES + 123).map((_, i) => (i * 7919) & 255);
      w.tupleWithClone(0, 1, 1, v8.serialize(value), true); // V8 bytes, in parts
      await new Promise((resolve) => setImmediate(resolve));
      socket.drain(); // the first part reaches the worker
      w.tuple(0, 2, 1, '"small"', true);
      await new Promise((resolve) => setImmediate(resolve));
      while (socket.held.length > 0) socket.drain();
      expect(socket.messages()).toEqual([[0, 2, 1, 'small'], [0, 1, 1, value]]);
      const bytes = Buffer.concat(socket.passed);
      for (const size of [97, 4999, 65_536]) {
        const got: unknown[] = [];
        const reader = new FrameReader(1 << 24);
        for (let at = 0; at < bytes.length; at += size) reader.push(bytes.subarray(at, at + size), (m) => got.push(m));
        expect(got).toEqual([[0, 2, 1, 'small'], [0, 1, 1, value]]);
      }
    });

    it('writes everything queued at once when asked to (before the pipe is closed)', () => {
      const socket = new FakeSocket();
      const w = new FrameWriter(socket);
      queueBig(w, bigCount);
      w.json('{"kind":"stopped"}');
      w.flushAll();
      expect(socket.messages().map((m) => (Array.isArray(m) ? m[1] : m))).toEqual([...Array.from({ length: bigCount }, (_, i) => i), { kind: 'stopped' }]);
    });
  });
});
