/** enqueueLines against the real Redis. */
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import readlinePromises from 'node:readline/promises';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { waitFor } from '../helpers/processes.ts';
import { closedPortUrl, openQueue, privateRedis, REDIS_URL, uniqueQueueName, useRedis } from './helpers.ts';
import { enqueueLines, RedisUnavailableError, type EnqueueCounts, type InvalidLine } from 'looppool/bullmq';

useRedis();

// Made before the first test, not at import: a run that filters out every test imports the
// file but runs none of its hooks, and the directory was left behind.
let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'looppool-enqueue-lines-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function* asyncLines(lines: string[]): AsyncGenerator<string> {
  for (const line of lines) yield line;
}

describe('enqueueLines', () => {
  it('adds one job per JSON line in bulk batches, skipping blank lines and reporting malformed ones', async () => {
    const name = uniqueQueueName('enqueue');
    const queue = openQueue(name);
    const lines = Array.from({ length: 2_500 }, (_, i) => JSON.stringify({ n: i }));
    lines.splice(10, 0, '{"broken":', '');
    lines.push('not json', '   ');
    const invalid: InvalidLine[] = [];
    const batches: EnqueueCounts[] = [];

    const counts = await enqueueLines(asyncLines(lines), {
      queue: name, connection: REDIS_URL, batchSize: 1_000, jobName: 'square', jobOptions: { attempts: 4 },
      onInvalid: (i) => invalid.push(i), onBatch: (c) => batches.push(c),
    });

    expect(counts).toEqual({ lines: 2_504, added: 2_500, invalid: 2 });
    expect(invalid.map((i) => i.line)).toEqual([11, 2_503]);
    expect(invalid[0]?.reason).toMatch(/^not JSON: /);
    expect(batches.map((b) => b.added)).toEqual([1_000, 2_000, 2_500]);
    expect(await queue.getWaitingCount()).toBe(2_500);
    const jobs = await queue.getJobs(['waiting'], 0, -1, true);
    expect(jobs.map((j) => (j.data as { n: number }).n)).toEqual(Array.from({ length: 2_500 }, (_, i) => i));
    expect(jobs.every((j) => j.name === 'square' && j.opts.attempts === 4)).toBe(true);
  });

  it('adds every line of a readline interface, though it emits lines while Redis connects', async () => {
    const name = uniqueQueueName('readline');
    const queue = openQueue(name);
    const file = path.join(tmp, 'readline.jsonl');
    const count = 20_000;
    writeFileSync(file, Array.from({ length: count }, (_, i) => `${JSON.stringify({ n: i })}\n`).join(''));
    // As the manual shows it: the interface starts reading at once, whether or not anyone listens yet.
    const lines = readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity });

    const counts = await enqueueLines(lines, { queue: name, connection: REDIS_URL });

    expect(counts).toEqual({ lines: count, added: count, invalid: 0 });
    expect(await queue.getJobCounts()).toMatchObject({ waiting: count, active: 0, delayed: 0 });
    const [first] = await queue.getJobs(['waiting'], 0, 0, true);
    const [last] = await queue.getJobs(['waiting'], count - 1, count - 1, true);
    expect([first?.data, last?.data]).toEqual([{ n: 0 }, { n: count - 1 }]);
  }); // before the fix: the lines read while Redis connected were lost (or, on a short file, a hang)

  it('with idField, adding the same lines again adds no job twice', async () => {
    const name = uniqueQueueName('ids');
    const queue = openQueue(name);
    const lines = ['{"id":1,"x":"a"}', '{"id":"img-2"}', '{"id":"a:b"}', '{"x":"no id"}', '[1,2]', '{"id":""}'];
    const invalid: InvalidLine[] = [];
    const options = { queue: name, connection: REDIS_URL, idField: 'id', onInvalid: (i: InvalidLine) => invalid.push(i) };

    expect(await enqueueLines(lines, options)).toEqual({ lines: 6, added: 2, invalid: 4 });
    expect(await enqueueLines(lines, options)).toEqual({ lines: 6, added: 2, invalid: 4 });

    expect(invalid.slice(0, 4).map((i) => [i.line, i.reason])).toEqual([
      [3, 'the job id "a:b" contains \':\' (BullMQ does not allow it)'],
      [4, 'no string or number `id` field for the job id'],
      [5, 'no string or number `id` field for the job id'],
      [6, 'the job id in `id` is empty'], // BullMQ numbered it itself: added again on every run
    ]);
    expect(await queue.getWaitingCount()).toBe(2);
    expect((await queue.getJob('id-1'))?.data).toEqual({ id: 1, x: 'a' }); // integer ids are prefixed: BullMQ reserves them
    expect((await queue.getJob('img-2'))?.data).toEqual({ id: 'img-2' });
  });

  it('fails with RedisUnavailableError, not a hang, when Redis does not answer', async () => {
    const url = await closedPortUrl();
    const error = await enqueueLines(['{}'], { queue: 'never-used', connection: url, readyTimeout: 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error).toMatchObject({ code: 'ERR_REDIS_UNAVAILABLE', redis: `${url}` });
    expect((error as Error).message).toMatch(/^Redis at redis:\/\/127\.0\.0\.1:\d+ did not answer within 500 ms \(last error: connect ECONNREFUSED/);
  });

  it('when Redis does not answer, ends the iterator without reading a line, and closes a readline interface', async () => {
    const url = await closedPortUrl();
    const calls: string[] = [];
    const iterable: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => {
        calls.push('iterator');
        return {
          next: async () => (calls.push('next'), { done: false, value: '{}' }),
          return: async () => (calls.push('return'), { done: true, value: undefined }),
        };
      },
    };
    const file = path.join(tmp, 'unread.jsonl');
    writeFileSync(file, '{}\n'.repeat(5_000));
    const rl = readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    let rlClosed = false;
    rl.on('close', () => (rlClosed = true));
    const options = { queue: 'never-used', connection: url, readyTimeout: 300 };

    const errors = await Promise.all([enqueueLines(iterable, options), enqueueLines(rl, options)].map((p) => p.catch((e: unknown) => e)));

    expect(errors.map((e) => e instanceof RedisUnavailableError)).toEqual([true, true]);
    expect(calls).toEqual(['iterator', 'return']);
    expect(rl.listenerCount('line')).toBe(0); // its iterator let go of the interface
    expect(rlClosed).toBe(true); // and the interface is closed, as Node documents for a loop left early
  });

  it.each([
    ['readline', readline.createInterface],
    ['readline/promises', readlinePromises.createInterface],
  ] as const)('closes a %s interface when adding a batch fails: its input (stdin, say) is let go', async (_, createInterface) => {
    const name = uniqueQueueName('rl-close');
    const queue = openQueue(name);
    const input = new PassThrough(); // never ended, as stdin from a terminal or a slow producer
    const rl = createInterface({ input, crlfDelay: Infinity });
    let rlClosed = false;
    rl.on('close', () => (rlClosed = true));
    // BullMQ refuses the job over sizeLimit: the second batch fails.
    const adding = enqueueLines(rl, { queue: name, connection: REDIS_URL, batchSize: 2, jobOptions: { sizeLimit: 20 } });
    input.write(`{"n":0}\n{"n":1}\n{"big":"${'x'.repeat(40)}"}\n{"n":3}\n`);

    const error = await adding.catch((e: unknown) => e);

    expect((error as Error).message).toBe('The size of job task exceeds the limit 20 bytes');
    expect(rlClosed).toBe(true);
    expect(input.listenerCount('data')).toBe(0); // nothing reads the input any more: it holds no process open
    expect(await queue.getWaitingCount()).toBe(2); // the first batch
    input.destroy();
  });

  /** Five lines, the first two before `released`, then three; `ended` once its iterator is ended. */
  function gatedSource(released: Promise<void>) {
    const state = { ended: false };
    async function* lines() {
      try {
        yield* ['{"n":1}', '{"n":2}'];
        await released;
        yield* ['{"n":3}', '{"n":4}', '{"n":5}'];
      } finally {
        state.ended = true;
      }
    }
    return { lines: lines(), state };
  }

  it('when Redis goes away while a batch waits and is not back within readyTimeout: RedisUnavailableError, not minutes of retries; the iterator is ended', async () => {
    const redis = await privateRedis();
    try {
      let release!: () => void;
      const source = gatedSource(new Promise<void>((resolve) => (release = resolve)));
      const batches: EnqueueCounts[] = [];
      const adding = enqueueLines(source.lines, { queue: uniqueQueueName('lost'), connection: redis.url, batchSize: 2, readyTimeout: 500, onBatch: (c) => batches.push(c) });
      const settled = adding.catch((e: unknown) => e);
      await waitFor(() => batches.length === 1, 'the first batch to be added');
      await redis.stop();
      release();

      const error = await settled;

      expect(error).toBeInstanceOf(RedisUnavailableError);
      expect(error).toMatchObject({ code: 'ERR_REDIS_UNAVAILABLE', redis: redis.url });
      expect((error as Error).message).toMatch(/^Redis at redis:\/\/127\.0\.0\.1:\d+ did not answer within 500 ms/);
      expect(batches).toEqual([{ lines: 2, added: 2, invalid: 0 }]);
      expect(source.state.ended).toBe(true);
    } finally {
      await redis.stop();
    }
  });

  it('Redis away while no batch waits is not held against it: once Redis is back, the next batches are added', async () => {
    const redis = await privateRedis();
    try {
      let release!: () => void;
      const source = gatedSource(new Promise<void>((resolve) => (release = resolve)));
      const batches: EnqueueCounts[] = [];
      const adding = enqueueLines(source.lines, { queue: uniqueQueueName('away'), connection: redis.url, batchSize: 2, readyTimeout: 300, onBatch: (c) => batches.push(c) });
      await waitFor(() => batches.length === 1, 'the first batch to be added');
      await redis.stop();
      await new Promise((resolve) => setTimeout(resolve, 600)); // away for twice readyTimeout, with no batch waiting
      await redis.start();
      const clients = (): number => spawnSync('redis-cli', ['-p', String(redis.port), 'client', 'list'], { encoding: 'utf8' }).stdout.trim().split('\n').length;
      await waitFor(() => clients() >= 2, 'the enqueuer to connect again (redis-cli is the other client)');
      release();

      expect(await adding).toEqual({ lines: 5, added: 5, invalid: 0 });
      expect(batches.map((b) => b.added)).toEqual([2, 4, 5]);
    } finally {
      await redis.stop();
    }
  });

  it('an item that is not a string: the lines before it are added, then a TypeError naming the item and its line; the iterator is ended', async () => {
    const name = uniqueQueueName('not-a-line');
    const queue = openQueue(name);
    let ended = false;
    async function* items(): AsyncGenerator<unknown> {
      try {
        yield* ['{"n":0}', '{"n":1}', '', '{"n":3}', 42, '{"n":5}'];
      } finally {
        ended = true;
      }
    }
    const batches: EnqueueCounts[] = [];

    const error = await enqueueLines(items() as AsyncIterable<string>, { queue: name, connection: REDIS_URL, batchSize: 2, onBatch: (c) => batches.push(c) }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('Expected line 5 of `lines` to be a string, got `42` (number); the lines before it were added, none from it on');
    expect(ended).toBe(true);
    expect(batches).toEqual([{ lines: 2, added: 2, invalid: 0 }, { lines: 4, added: 3, invalid: 0 }]);
    const jobs = await queue.getJobs(['waiting'], 0, -1, true);
    expect(jobs.map((j) => j.data)).toEqual([{ n: 0 }, { n: 1 }, { n: 3 }]);
  });

  it('names what it got in place of a line: null, undefined, an object, a Buffer (a stream\'s chunk)', async () => {
    const name = uniqueQueueName('not-a-line-kinds');
    const queue = openQueue(name);
    const cases: [unknown, string][] = [
      [null, '`null` (null)'],
      [undefined, '`undefined` (undefined)'],
      [{ refused: 'not JSON' }, '`{"refused":"not JSON"}` (object)'],
      [Buffer.from('{"n":1}\n'), 'a Buffer of 8 bytes (object)'],
    ];
    for (const [item, got] of cases) {
      const error = await enqueueLines(['{"n":0}', item] as string[], { queue: name, connection: REDIS_URL }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      const hint = Buffer.isBuffer(item) ? ' (for the lines of a stream, pass readline.createInterface({ input: stream }))' : '';
      expect((error as Error).message).toBe(`Expected line 2 of \`lines\` to be a string, got ${got}; the lines before it were added, none from it on${hint}`);
    }
    expect(await queue.getWaitingCount()).toBe(cases.length); // line 1 of each call
  });

  it('rejects lines that are not iterable, or a string, with a TypeError before connecting', async () => {
    const options = { queue: 'never-used', connection: await closedPortUrl(), readyTimeout: 500 };
    for (const [lines, shown] of [[undefined, '`undefined` (undefined)'], [42, '`42` (number)'], [{ lines: [] }, '`{"lines":[]}` (object)'], ['{"n":1}\n{"n":2}', '`"{\\"n\\":1}\\n{\\"n\\":2}"` (string)']] as const) {
      const error = await enqueueLines(lines as never, options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toBe(`Expected \`lines\` to be an iterable or async iterable of strings (such as a readline interface), got ${shown}`);
    }
  });
});
