/**
 * The JSON-lines reader of `looppool run`, in process: line splitting with a byte limit and
 * resynchronisation, decoding of hostile lines, and a seeded fuzz against a reference reader
 * whose result must not depend on how the bytes are chunked.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { decodeLine, type DecodedLine } from '../../src/cli/run/decode-line.ts';
import { LineReader, splitLines, type RawLine } from '../../src/cli/run/line-reader.ts';
import { countLines } from '../../src/cli/run/input.ts';
import { ProgressDisplay } from '../../src/cli/run/progress.ts';
import { RecordWriter } from '../../src/cli/run/record-writer.ts';
import { expectedRecords, randomChunks, randomInput, Random, type Expected } from './random.ts';

async function lines(chunks: readonly (string | Buffer)[], max = 1024): Promise<RawLine[]> {
  const out: RawLine[] = [];
  for await (const line of splitLines(Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))), max)) out.push(line);
  return out;
}

/** What the command would write per line: the task, an error code, or nothing (blank). */
async function decodeAll(chunks: readonly Buffer[], max: number): Promise<Expected[]> {
  const out: Expected[] = [];
  for (const raw of await lines(chunks, max)) {
    const d: DecodedLine = decodeLine(raw, 'json', max);
    if (d.kind === 'task') out.push({ line: raw.line, task: d.task });
    else if (d.kind === 'invalid') out.push({ line: raw.line, code: d.problem.code });
  }
  return out;
}

describe('splitLines', () => {
  it('numbers every line from 1, blank ones included, with or without a final newline', async () => {
    const got = await lines(['a\n\nb\r\nc']);
    expect(got.map((l) => [l.line, l.text])).toEqual([[1, 'a'], [2, ''], [3, 'b'], [4, 'c']]);
  });

  it('gives the same lines whatever the chunk boundaries, even inside a UTF-8 character', async () => {
    const text = Buffer.from('{"é":"𝄞"}\r\n[1]\n"€"');
    const whole = await lines([text]);
    for (let cut = 1; cut < text.length; cut++) {
      const split = await lines([text.subarray(0, cut), text.subarray(cut)]);
      expect(split).toEqual(whole);
    }
  });

  it('drops an over-long line as it streams and resumes at the next newline', async () => {
    const got = await lines(['ok\n', 'x'.repeat(600), 'y'.repeat(600), '\nafter\n'], 1000);
    expect(got.map((l) => [l.line, l.text, l.size])).toEqual([[1, 'ok', 2], [2, undefined, 1200], [3, 'after', 5]]);
  });

  it('measures the limit without the line ending: exactly max bytes pass, with CRLF too', async () => {
    const got = await lines([`${'a'.repeat(8)}\r\n${'b'.repeat(9)}\n${'c'.repeat(8)}`], 8);
    expect(got.map((l) => l.text?.length)).toEqual([8, undefined, 8]);
  });

  it('does not count the byte-order mark toward the limit, wherever a chunk boundary falls', async () => {
    const input = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('"123456"\n"1234567"\n')]); // 8 bytes after the BOM, then 9
    for (let cut = 0; cut <= input.length; cut++) {
      const got = await lines([input.subarray(0, cut), input.subarray(cut)], 8);
      expect(got.map((l) => [l.line, l.text, l.size]), `cut at ${cut}`).toEqual([[1, '"123456"', 8], [2, undefined, 9]]);
    }
    // The start of a BOM, then the end of the input: those bytes are the line's (not UTF-8).
    expect((await lines([Buffer.from([0xef]), Buffer.from([0xbb])])).map((l) => [l.line, l.text, l.size])).toEqual([[1, undefined, 2]]);
  });

  it('counts the limit in bytes, not characters', async () => {
    const got = await lines(['éééé\néééé€\n'], 9); // 8 bytes, then 11
    expect(got.map((l) => [l.text, l.size])).toEqual([['éééé', 8], [undefined, 11]]);
  });

  it('finds the bad line and byte of a chunk that is not all UTF-8, and reads its other lines', async () => {
    const chunk = Buffer.concat([Buffer.from('"é"\n"a'), Buffer.from([0xc3, 0x28]), Buffer.from('"\r\n\n[1]\n')]);
    const got = await lines([chunk]);
    expect(got).toEqual([
      { line: 1, text: '"é"', size: 4, badByte: -1 },
      { line: 2, text: undefined, size: 5, badByte: 3 }, // 0xc3 may start a character; 0x28 cannot continue it
      { line: 3, text: '', size: 0, badByte: -1 },
      { line: 4, text: '[1]', size: 3, badByte: -1 },
    ]);
  });

  it('reads a chunk too large to decode whole line by line, with the same lines', async () => {
    const text = Array.from({ length: 40_000 }, (_, i) => `{"n":${i},"s":"${'é'.repeat(i % 20)}"}`).join('\r\n');
    const big = Buffer.from(text); // over 1 MiB: one chunk
    expect(big.length).toBeGreaterThan(1 << 20);
    const got = await lines([big], 100);
    expect(got.length).toBe(40_000);
    expect(got.every((l, i) => l.line === i + 1 && l.text === JSON.stringify({ n: i, s: 'é'.repeat(i % 20) }))).toBe(true);
    expect(got.map((l) => l.text)).toEqual((await lines(randomChunks(new Random(7), big, 70_000), 100)).map((l) => l.text));
  });

  it('pauses its source while the consumer is busy (backpressure)', async () => {
    const source = new PassThrough({ highWaterMark: 1024 });
    let written = 0;
    const writeMore = (): void => {
      while (written < 10_000 && source.write(`${written}\n`)) written++;
      if (written < 10_000) source.once('drain', writeMore);
      else source.end();
    };
    writeMore();
    const iterator = splitLines(source, 100);
    await iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(written).toBeLessThan(2000); // the producer is held back, not buffered whole
    await iterator.return(undefined);
    source.destroy();
  });
});

describe('decodeLine', () => {
  /** `text` as line `line` of an input, read and decoded. */
  const decode = (text: string | Buffer, line = 2, mode: 'json' | 'lines' = 'json'): DecodedLine => {
    const reader = new LineReader(1 << 20);
    reader.push(Buffer.concat([Buffer.alloc(line - 1, '\n'), Buffer.isBuffer(text) ? text : Buffer.from(text), Buffer.from('\n')]));
    reader.end();
    while (reader.line < line) expect(reader.next()).toBe(true);
    return decodeLine(reader, mode, 1 << 20);
  };
  const code = (d: DecodedLine): string | undefined => (d.kind === 'invalid' ? d.problem.code : undefined);

  it('parses JSON values and skips blank lines', () => {
    expect(decode('{"a":[1,"x"]}')).toEqual({ kind: 'task', task: { a: [1, 'x'] } });
    expect(decode(' \t ')).toEqual({ kind: 'blank' });
    expect(decode('')).toEqual({ kind: 'blank' });
  });

  it('a carriage return left in a line (its CRLF ending already gone) is content, not blank', async () => {
    expect(code(decode('\r\r'))).toBe('ERR_INVALID_JSON'); // the line \r\r\n: one \r goes with its ending
    expect(decode(' \r ', 2, 'lines')).toEqual({ kind: 'task', task: ' \r ' });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-count-'));
    try {
      const file = path.join(dir, 'input');
      writeFileSync(file, '"a"\r\n\r\r\n \r \n\n \t\r\n"b"\r');
      expect(await countLines(file)).toBe(4); // "a", "\r", " \r ", "b\r" (no \n after it: content)
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('strips a UTF-8 BOM on the first line only', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf, 0x31]);
    expect(decode(bom, 1)).toEqual({ kind: 'task', task: 1 });
    expect(code(decode(bom, 2))).toBe('ERR_INVALID_JSON');
  });

  it('refuses invalid UTF-8, invalid JSON, too deep nesting and __proto__ keys, with codes', () => {
    expect(code(decode(Buffer.from([0x22, 0xff, 0x22])))).toBe('ERR_INVALID_UTF8');
    expect(code(decode(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])))).toBe('ERR_INVALID_UTF8'); // an encoded surrogate
    expect(code(decode('{"a":1,}'))).toBe('ERR_INVALID_JSON');
    expect(code(decode(`${'['.repeat(513)}${']'.repeat(513)}`))).toBe('ERR_INPUT_DEPTH');
    expect(decode(`${'['.repeat(512)}${']'.repeat(512)}`).kind).toBe('task');
    expect(code(decode('{"__proto__":{"polluted":1}}'))).toBe('ERR_FORBIDDEN_KEY');
    expect(code(decode('{"a":[{"\\u005f_proto__":1}]}'))).toBe('ERR_FORBIDDEN_KEY');
    expect(decode('{"s":"[[[[ not nesting"}')).toEqual({ kind: 'task', task: { s: '[[[[ not nesting' } });
  });

  it('leaves Object.prototype alone whatever the payload', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    for (const text of ['{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', '[{"__proto__":{"x":1}}]']) {
      const d = decode(text);
      if (d.kind === 'task') Object.assign({}, d.task);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
  });

  it('takes the line itself as a string task with --lines', () => {
    expect(decode('not json', 2, 'lines')).toEqual({ kind: 'task', task: 'not json' });
    expect(decode(Buffer.from([0x61, 0xff]), 2, 'lines').kind).toBe('invalid');
  });
});

describe('RecordWriter', () => {
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('writes in input order with --ordered, streamed extras before their line', async () => {
    const sink = new PassThrough();
    const chunks: string[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c.toString()));
    const writer = new RecordWriter(sink, true);
    for (const line of [1, 2, 3]) writer.expect(line);
    writer.final(3, 'r3\n');
    writer.extra(2, 'e2\n');
    writer.extra(null, 'untied\n');
    writer.final(1, 'r1\n');
    writer.final(2, 'r2\n');
    await turn();
    expect(chunks.join('')).toBe('untied\nr1\ne2\nr2\nr3\n');
    expect(writer.backlog).toBe(0);
  });

  it('keeps input order over thousands of lines finishing in any order', async () => {
    const sink = new PassThrough();
    const chunks: string[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c.toString()));
    const writer = new RecordWriter(sink, true);
    const n = 5000;
    for (let line = 1; line <= n; line++) writer.expect(line);
    const order = Array.from({ length: n }, (_, i) => i + 1);
    const r = new Random(11);
    for (let i = n - 1; i > 0; i--) {
      const j = r.int(0, i);
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    for (const [k, line] of order.entries()) {
      writer.final(line, `r${line}\n`);
      if (k % 500 === 0) await turn();
    }
    await writer.end(false);
    expect(chunks.join('')).toBe(Array.from({ length: n }, (_, i) => `r${i + 1}\n`).join(''));
    expect(writer.backlog).toBe(0);
  });

  it('writes the records of one turn of the event loop in one write, in the order they came', async () => {
    const writes: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        writes.push(chunk.toString());
        callback();
      },
    });
    const writer = new RecordWriter(sink, false);
    for (const line of [1, 2, 3]) writer.expect(line);
    writer.final(2, 'r2\n');
    writer.extra(null, 'untied\n');
    writer.final(1, 'r1\n');
    expect(writes).toEqual([]);
    await turn();
    writer.final(3, 'r3\n');
    await writer.end(false); // writes what is pending without waiting for the turn to end
    expect(writes).toEqual(['r2\nuntied\nr1\n', 'r3\n']);
    expect(writer.openLines).toBe(0);
  });
});

describe('RecordWriter: a write that fails after it was taken (a terminal that hung up)', () => {
  const eio = (): NodeJS.ErrnoException => Object.assign(new Error('write EIO'), { code: 'EIO' });
  /** A terminal that hangs up when told: it takes every later write and fails it on a later turn. */
  const terminal = (written: string[]) => {
    const state = { hungUp: false };
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        written.push(chunk.toString());
        if (state.hungUp) setImmediate(() => setImmediate(() => callback(eio())));
        else callback();
      },
    }).on('error', () => {}); // as the command's stderr, whose errors are dropped
    return Object.assign(state, { stream });
  };
  const snapshot = () => ({ name: 't', finished: 0, failed: 0, total: undefined, restarts: 0, state: 'running', workers: [] });

  it('ends only once the sink has called back its last write, and then knows that it failed', async () => {
    const tty = terminal([]);
    tty.hungUp = true;
    const writer = new RecordWriter(tty.stream, false);
    const broken: string[] = [];
    writer.onBroken((error) => broken.push(error.code as string));
    writer.expect(1);
    writer.final(1, 'r1\n');
    await writer.end(false);
    expect(broken).toEqual(['EIO']);
    expect(writer.isBroken).toBe(true);
  });

  it('the live display: records printed above it fail with the terminal, before the output counts as finished', async () => {
    for (const active of [true, false]) {
      const written: string[] = [];
      const tty = terminal(written);
      const display = new ProgressDisplay(tty.stream, snapshot);
      if (active) display.start();
      tty.hungUp = true;
      const writer = new RecordWriter(display.above(), false);
      const broken: string[] = [];
      writer.onBroken((error) => broken.push(error.code as string));
      for (const line of [1, 2]) writer.expect(line);
      writer.final(1, 'r1\n');
      writer.final(2, 'r2\n');
      await writer.end(false);
      display.stop();
      expect(written.join('')).toContain('r1\nr2\n');
      expect(broken, active ? 'display shown' : 'display stopped').toEqual(['EIO']);
    }
  });
});

describe('RecordWriter.endUnlessStalled: a stop at once gives up a stalled output, not a failed one', () => {
  const eio = (): NodeJS.ErrnoException => Object.assign(new Error('write EIO'), { code: 'EIO' });
  const snapshot = () => ({ name: 't', finished: 0, failed: 0, total: undefined, restarts: 0, state: 'running', workers: [] });
  /** A terminal that fails every write at once (hung up), or never takes one (its reader stopped). */
  const terminal = (kind: 'hung up' | 'stalled') =>
    new Writable({
      write(_chunk, _encoding, callback) {
        if (kind === 'hung up') callback(eio());
      },
    }).on('error', () => {});

  it('a write failed at once is a failure (the output error decides), with the display or without', async () => {
    for (const above of [false, true]) {
      const tty = terminal('hung up');
      const writer = new RecordWriter(above ? new ProgressDisplay(tty, snapshot).above() : tty, false);
      const broken: string[] = [];
      writer.onBroken((error) => broken.push(error.code as string));
      writer.expect(1);
      writer.final(1, 'r1\n');
      expect(await writer.endUnlessStalled(false, true, Promise.resolve()), above ? 'above the display' : 'plain').toBe(true);
      expect(broken).toEqual(['EIO']);
    }
  });

  it('a write never taken is given up: the sink is destroyed, and that is no output error', async () => {
    const tty = terminal('stalled');
    const writer = new RecordWriter(new ProgressDisplay(tty, snapshot).above(), false);
    const broken: string[] = [];
    writer.onBroken((error) => broken.push(error.code as string));
    writer.expect(1);
    writer.final(1, 'r1\n');
    expect(await writer.endUnlessStalled(false, true, Promise.resolve())).toBe(false);
    expect(broken).toEqual([]);
    expect(writer.isBroken).toBe(true);
  });
});

describe('fuzz: hostile byte streams, random chunking', () => {
  it('yields one outcome per non-blank line, as the reference reader does, for every chunking', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20261122);
    const runs = 1000;
    for (let run = 0; run < runs; run++) {
      const r = new Random(seed + run);
      const max = r.pick([16, 64, 256]);
      const input = randomInput(r, r.int(1, 40), max);
      const expected = expectedRecords(input, max);
      const whole = await decodeAll([input], max);
      expect(whole, `seed ${seed + run}`).toEqual(expected);
      const chunked = await decodeAll(randomChunks(r, input, r.int(1, 64)), max);
      expect(chunked, `seed ${seed + run} (chunked)`).toEqual(expected);
    }
  });
});
