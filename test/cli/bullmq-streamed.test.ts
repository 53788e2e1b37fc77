/**
 * Results a worker streams (`ctx.putResult`, `this.putResult`) in `looppool run --bullmq`, against
 * the real Redis on 127.0.0.1:6379: written as records keyed by job and attempt, before that
 * attempt's own record, as a local run writes them by line; not stored in Redis.
 */
import { describe, expect, it } from 'vitest';
import { openQueue, REDIS_URL, uniqueQueueName, useRedis } from '../bullmq/helpers.ts';
import { expectNoPoolLeft, fixture, runCli, uniqueName } from './helpers.ts';

useRedis();

/** Add one job per line with `looppool enqueue` (ids 1, 2, …). */
async function enqueue(queue: string, lines: readonly unknown[]): Promise<void> {
  const run = await runCli(['enqueue', queue, '--redis', REDIS_URL, '-q'], { input: lines.map((l) => `${JSON.stringify(l)}\n`).join('') });
  expect(run.code).toBe(0);
}

describe('looppool run --bullmq: streamed results', () => {
  it('writes each result a job\'s task streams as {"job","attempt","extra"} before its result record, extraError when not JSON; Redis keeps only the return value', async () => {
    // Before: dropped, with a notice on stderr.
    const queueName = uniqueQueueName('cli-streamed');
    const queue = openQueue(queueName);
    await enqueue(queueName, ['a', 'cycle']);
    const name = uniqueName('bq');

    const run = await runCli(['run', fixture('streams-two.mjs'), '--bullmq', queueName, '--size', '1', '--concurrency', '1', '--max-jobs', '2', '--name', name, '--json-summary', '-']);

    expect(run.code).toBe(0);
    const notJson = { origin: 'output', name: 'OutputError', code: 'ERR_RESULT_NOT_JSON', message: expect.stringMatching(/^The result cannot be written as JSON: Converting circular structure to JSON/) };
    expect(run.records()).toEqual([ // one job at a time, in order
      { job: '1', attempt: 1, extra: { task: 'a', n: 1 } },
      { job: '1', attempt: 1, extra: { task: 'a', n: 2 } },
      { job: '1', attempt: 1, result: 'done' },
      { job: '2', attempt: 1, extra: { task: 'cycle', n: 1 } },
      { job: '2', attempt: 1, extraError: notJson },
      { job: '2', attempt: 1, result: 'done' },
    ]);
    expect(run.stderr).not.toMatch(/putResult/);
    const summary = JSON.parse(run.stderr.trim().split('\n').at(-1) as string);
    expect(summary).toMatchObject({ jobs: 2, completed: 2, extras: 4, written: 6 });
    for (const id of ['1', '2']) {
      const job = await queue.getJob(id);
      expect(job?.returnvalue).toBe('done');
      expect(job?.progress).toMatchObject({ outcome: 'completed' }); // the metadata, no streamed value
      expect((await queue.getJobLogs(id)).count).toBe(0);
    }
    await expectNoPoolLeft(name);
  });

  it('writes a result streamed outside any task (this.putResult) as {"extra"}, of no job', async () => {
    const queueName = uniqueQueueName('cli-streamed-untied');
    openQueue(queueName);
    await enqueue(queueName, [1]);
    const run = await runCli(['run', fixture('streams.mjs'), '--bullmq', queueName, '--size', '1', '--max-jobs', '1', '-q']);
    expect(run.code).toBe(0);
    expect(run.records()).toEqual([
      { job: '1', attempt: 1, extra: { i: 0 } },
      { extra: { untied: 1 } },
      { job: '1', attempt: 1, result: 'done' },
    ]);
  });
});
