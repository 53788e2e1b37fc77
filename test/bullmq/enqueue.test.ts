/** enqueueLines against the real Redis. */
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { closedPortUrl, openQueue, REDIS_URL, uniqueQueueName, useRedis } from './helpers.ts';
import { enqueueLines, RedisUnavailableError, type EnqueueCounts, type InvalidLine } from 'looppool/bullmq';

useRedis();

const tmp = mkdtempSync(path.join(os.tmpdir(), 'looppool-enqueue-lines-'));
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
    const lines = ['{"id":1,"x":"a"}', '{"id":"img-2"}', '{"id":"a:b"}', '{"x":"no id"}', '[1,2]'];
    const invalid: InvalidLine[] = [];
    const options = { queue: name, connection: REDIS_URL, idField: 'id', onInvalid: (i: InvalidLine) => invalid.push(i) };

    expect(await enqueueLines(lines, options)).toEqual({ lines: 5, added: 2, invalid: 3 });
    expect(await enqueueLines(lines, options)).toEqual({ lines: 5, added: 2, invalid: 3 });

    expect(invalid.slice(0, 3).map((i) => [i.line, i.reason])).toEqual([
      [3, 'the job id "a:b" contains \':\' (BullMQ does not allow it)'],
      [4, 'no string or number `id` field for the job id'],
      [5, 'no string or number `id` field for the job id'],
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

  it('when Redis does not answer, ends the iterator without reading a line (a readline interface too)', async () => {
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
    const options = { queue: 'never-used', connection: url, readyTimeout: 300 };

    const errors = await Promise.all([enqueueLines(iterable, options), enqueueLines(rl, options)].map((p) => p.catch((e: unknown) => e)));

    expect(errors.map((e) => e instanceof RedisUnavailableError)).toEqual([true, true]);
    expect(calls).toEqual(['iterator', 'return']);
    expect(rl.listenerCount('line')).toBe(0); // its iterator let go of the interface (Node leaves closing it to its owner)
    rl.close();
  });

  it('rejects lines that are not iterable, or a string, with a TypeError before connecting', async () => {
    const options = { queue: 'never-used', connection: await closedPortUrl(), readyTimeout: 500 };
    for (const [lines, shown] of [[undefined, '`undefined` (undefined)'], [42, '`42` (number)'], [{ lines: [] }, '`[object Object]` (object)'], ['{"n":1}\n{"n":2}', '`"{\\"n\\":1}\\n{\\"n\\":2}"` (string)']] as const) {
      const error = await enqueueLines(lines as never, options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toBe(`Expected \`lines\` to be an iterable or async iterable of strings (such as a readline interface), got ${shown}`);
    }
  });
});
