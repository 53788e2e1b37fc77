/**
 * `looppool enqueue` as a user runs it, against the real Redis on 127.0.0.1:6379 (the tests fail,
 * never skip, when it does not answer): jobs added in bulk, malformed lines reported, exit codes,
 * a stop by SIGINT, and a missing `bullmq`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.ts';
import { Queue } from 'bullmq';
import { openQueue, privateRedis, REDIS_URL, uniqueQueueName, useRedis } from '../bullmq/helpers.ts';
import { fixture, runCli, silentFifo, startCli, writerlessFifo } from './helpers.ts';

useRedis();

// Made before the first test, not at import: a run that filters out every test imports the
// file but runs none of its hooks, and the directory was left behind.
let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'looppool-enqueue-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The one JSON line enqueue prints on stdout. */
function counts(stdout: string): unknown {
  const lines = stdout.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] as string);
}

describe('looppool enqueue', () => {
  it('adds one job per JSON line in bulk, with the job options; reports malformed lines and exits 1', async () => {
    const queueName = uniqueQueueName('cli-enqueue');
    const queue = openQueue(queueName);
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ n: i + 1 }));
    lines.splice(5, 0, '{"broken":'); // line 6
    lines.splice(20, 0, '', '   '); // lines 21, 22: blank, skipped
    lines.push('not json', '[1,');

    const run = await runCli(
      ['enqueue', queueName, '--redis', REDIS_URL, '--batch-size', '7', '--job-name', 'square', '--attempts', '3', '--backoff', '50'],
      { input: `${lines.join('\n')}\n` },
    );

    expect(run.code).toBe(1);
    expect(counts(run.stdout)).toEqual({ lines: 45, added: 40, invalid: 3 });
    expect(run.stderr).toMatch(/^line 6: not JSON: /m);
    expect(run.stderr).toMatch(/^line 44: not JSON: /m);
    expect(run.stderr).toMatch(/^line 45: not JSON: /m);
    expect(await queue.getWaitingCount()).toBe(40);
    const jobs = await queue.getJobs(['waiting'], 0, -1, true);
    expect(jobs.map((j) => (j.data as { n: number }).n)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(jobs.every((j) => j.name === 'square' && j.opts.attempts === 3)).toBe(true);
    expect(jobs[0]?.opts.backoff).toEqual({ type: 'exponential', delay: 50 });
  });

  it('exits 0 when every line is added; reads --input (BOM, CRLF); with --id-field a second run adds no job twice', async () => {
    const queueName = uniqueQueueName('cli-ids');
    const queue = openQueue(queueName);
    const file = path.join(tmp, 'ids.jsonl');
    writeFileSync(file, `\uFEFF{"id":1,"x":"a"}\r\n{"id":"img-2","x":"b"}\r\n{"id":3}`);
    const args = ['enqueue', queueName, '--input', file, '--id-field', 'id', '-q'];

    const first = await runCli(args);
    const second = await runCli(args);

    expect([first.code, second.code]).toEqual([0, 0]);
    expect(counts(first.stdout)).toEqual({ lines: 3, added: 3, invalid: 0 });
    expect(first.stderr).toBe('');
    expect(await queue.getWaitingCount()).toBe(3);
    expect((await queue.getJob('id-1'))?.data).toEqual({ id: 1, x: 'a' });
    expect((await queue.getJob('img-2'))?.data).toEqual({ id: 'img-2', x: 'b' });
  });

  it('refuses a line longer than --max-line-bytes (default 1 MiB) and a line that is not UTF-8; adds the others', async () => {
    const queueName = uniqueQueueName('cli-lines');
    const queue = openQueue(queueName);
    const long = JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }); // over the default limit
    const input = [
      Buffer.from('{"n":1}\n'),
      Buffer.from(`${long}\n`), // line 2
      Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d, 0x0a]), // line 3: {"n":"<0xff>"}
      Buffer.from('{"n":4}\n'),
    ];
    const run = await runCli(['enqueue', queueName, '--redis', REDIS_URL], { input });

    expect(run.code).toBe(1);
    expect(counts(run.stdout)).toEqual({ lines: 4, added: 2, invalid: 2 });
    expect(run.stderr).toMatch(new RegExp(`^line 2: The line has ${long.length} bytes, more than --max-line-bytes \\(1048576\\)$`, 'm'));
    expect(run.stderr).toMatch(/^line 3: The line is not valid UTF-8/m);
    const jobs = await queue.getJobs(['waiting'], 0, -1, true);
    expect(jobs.map((j) => j.data)).toEqual([{ n: 1 }, { n: 4 }]);

    const small = await runCli(['enqueue', queueName, '--redis', REDIS_URL, '--max-line-bytes', '8', '-q'], { input: '{"n":5}\n{"n":666}\n' });
    expect(small.code).toBe(1);
    expect(counts(small.stdout)).toEqual({ lines: 2, added: 1, invalid: 1 });
    expect(small.stderr).toBe('line 2: The line has 9 bytes, more than --max-line-bytes (8)\n');
  });

  it('SIGINT stops reading: the lines read are still added (the last batch is flushed), exit 130', async () => {
    const queueName = uniqueQueueName('cli-sigint');
    const queue = openQueue(queueName);
    const cli = startCli(['enqueue', queueName, '--redis', REDIS_URL, '--batch-size', '3'], { keepStdinOpen: true });
    // One write: once the first two batches are in Redis, the 7th line has been read too.
    cli.child.stdin?.write(Array.from({ length: 7 }, (_, i) => `{"n":${i + 1}}\n`).join(''));
    await waitFor(async () => (await queue.getWaitingCount()) === 6, 'two batches of 3 jobs in the queue');

    process.kill(cli.pid, 'SIGINT');
    const exit = await cli.exit();

    expect(exit.code).toBe(130);
    expect(counts(cli.stdout)).toEqual({ lines: 7, added: 7, invalid: 0 });
    expect(cli.stderr).toMatch(/stopped by SIGINT: the input after line 7 was not read; 7 jobs were added/);
    expect(await queue.getWaitingCount()).toBe(7);
  });

  it('Redis gone mid-run and not back within 10 s while a batch waits: exit 3 with the counts so far, not minutes of retries', { timeout: 60_000 }, async () => {
    const redis = await privateRedis();
    const queueName = uniqueQueueName('cli-redis-lost');
    const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: redis.port } });
    queue.on('error', () => {});
    try {
      const cli = startCli(['enqueue', queueName, '--redis', redis.url, '--batch-size', '2'], { keepStdinOpen: true });
      cli.child.stdin?.write('{"n":1}\n{"n":2}\n');
      await waitFor(async () => (await queue.getWaitingCount()) === 2, 'the first batch in the queue');
      await queue.close();
      await redis.stop();
      cli.child.stdin?.write('{"n":3}\n{"n":4}\n');

      const exit = await cli.exit(40_000);

      expect(exit.code).toBe(3);
      expect(counts(cli.stdout)).toEqual({ lines: 4, added: 2, invalid: 0 });
      expect(cli.stderr).toMatch(/failed while jobs were being added: Redis at redis:\/\/127\.0\.0\.1:\d+\/? did not answer within 10000 ms.*; 2 jobs were added/);
    } finally {
      await queue.close();
      await redis.stop();
    }
  });

  it('SIGINT stops reading a FIFO (--input) whose writer stays open and silent: the lines read are added, exit 130', async () => {
    const queueName = uniqueQueueName('cli-fifo');
    const queue = openQueue(queueName);
    const fifo = silentFifo('{"n":1}\n');
    const cli = startCli(['enqueue', queueName, '--redis', REDIS_URL, '--batch-size', '1', '--input', fifo.path]);
    await waitFor(async () => (await queue.getWaitingCount()) === 1, 'the job in the queue');

    process.kill(cli.pid, 'SIGINT');

    expect((await cli.exit(15_000)).code).toBe(130); // not when the writer closes
    expect(counts(cli.stdout)).toEqual({ lines: 1, added: 1, invalid: 0 });
    expect(cli.stderr).toMatch(/stopped by SIGINT: the input after line 1 was not read; 1 job was added/); // before: "1 jobs were added"
  });

  it('Ctrl-C while --input is a FIFO no writer has opened yet (Redis away too) exits 130, having read nothing', async () => {
    const fifo = writerlessFifo();
    const cli = startCli(['enqueue', 'never-used', '--redis', 'redis://127.0.0.1:1', '--input', fifo.path]);
    await cli.waitForStderr(/waiting for Redis at redis:\/\/127\.0\.0\.1:1 \(Ctrl-C stops\)/); // the input is open; signals are handled
    process.kill(cli.pid, 'SIGINT');
    expect(await cli.exit()).toEqual({ code: 130, signal: null }); // it was not killed by the signal
    expect(counts(cli.stdout)).toEqual({ lines: 0, added: 0, invalid: 0 });
    expect(cli.stderr).toMatch(/stopped by SIGINT while connecting to Redis: no line was read, no job was added/);
  });

  it('reads an --input FIFO whose writer comes after the start: its lines are added, the input ends when it closes', async () => {
    const queueName = uniqueQueueName('cli-fifo-late');
    const queue = openQueue(queueName);
    const fifo = writerlessFifo();
    const cli = startCli(['enqueue', queueName, '--redis', REDIS_URL, '--input', fifo.path]);
    await waitFor(() => {
      try {
        fifo.writeAndClose('{"n":1}\n{"n":2}\n'); // once the command has the FIFO open to read
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENXIO') return false;
        throw error;
      }
    }, 'the command to open the FIFO');
    expect((await cli.exit()).code).toBe(0);
    expect(counts(cli.stdout)).toEqual({ lines: 2, added: 2, invalid: 0 });
    expect(await queue.getWaitingCount()).toBe(2);
  });

  it('Ctrl-C while waiting for Redis exits 130 at once, having added nothing', async () => {
    const cli = startCli(['enqueue', 'never-used', '--redis', 'redis://127.0.0.1:1'], { input: '{}\n' });
    await cli.waitForStderr(/waiting for Redis at redis:\/\/127\.0\.0\.1:1 \(Ctrl-C stops\)/);
    process.kill(cli.pid, 'SIGINT');
    expect((await cli.exit()).code).toBe(130);
    expect(counts(cli.stdout)).toEqual({ lines: 0, added: 0, invalid: 0 });
    expect(cli.stderr).toMatch(/stopped by SIGINT while connecting to Redis: no line was read, no job was added/);
  });

  it('SIGHUP (a terminal closing) stops it like SIGINT: exit 129, having added nothing while waiting for Redis', async () => {
    const cli = startCli(['enqueue', 'never-used', '--redis', 'redis://127.0.0.1:1'], { input: '{}\n' });
    await cli.waitForStderr(/waiting for Redis at redis:\/\/127\.0\.0\.1:1 \(Ctrl-C stops\)/);
    process.kill(cli.pid, 'SIGHUP');
    expect(await cli.exit()).toEqual({ code: 129, signal: null });
    expect(counts(cli.stdout)).toEqual({ lines: 0, added: 0, invalid: 0 });
    expect(cli.stderr).toMatch(/stopped by SIGHUP while connecting to Redis: no line was read, no job was added/);
  });

  it('exits 2 on usage errors, before touching Redis', async () => {
    const cases: [string[], RegExp][] = [
      [['enqueue', 'a:b'], /the queue must be a queue name without ':'/],
      [['enqueue', 'q', '--batch-size', '0'], /--batch-size must be an integer >= 1, got "0"/],
      [['enqueue', 'q', '--attempts', 'many'], /--attempts must be an integer >= 1/],
      [['enqueue', 'q', '--max-line-bytes', '13M'], /--max-line-bytes must be from 1 to 12582912 \(12 MiB\), got 13M/],
      [['enqueue', 'q', '--max-line-bytes', 'lots'], /--max-line-bytes must be a size in bytes/],
      [['enqueue', 'q', '--redis', 'http://127.0.0.1:6379'], /--redis must be a redis:\/\/ or rediss:\/\/ URL/],
      [['enqueue', 'q', '--input', path.join(tmp, 'missing.jsonl')], /Input file not found/],
      [['enqueue'], /missing required argument 'queue'/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(args, { input: '{}\n' });
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe('');
    }
  });

  it('exits 3 with a clear message when Redis does not answer', async () => {
    const run = await runCli(['enqueue', 'never-used', '--redis', 'redis://:s3cret-pw@127.0.0.1:1'], { input: '{}\n' });
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/cannot reach Redis: Redis at redis:\/\/127\.0\.0\.1:1 did not answer within 10000 ms \(last error: connect ECONNREFUSED/);
    expect(run.stderr).toMatch(/redis-server --daemonize yes --port 6379/);
    expect(run.stderr).not.toMatch(/s3cret-pw/);
  });

  it('exits 2 saying what to install when bullmq is missing (enqueue and run --bullmq)', async () => {
    const env = { NODE_OPTIONS: `--import=${pathToFileURL(fixture('bullmq-hidden.mjs')).href}` };
    const enqueue = await runCli(['enqueue', 'never-used'], { input: '{}\n', env });
    const run = await runCli(['run', fixture('echo.mjs'), '--bullmq', 'never-used', '--size', '1'], { env });
    for (const cli of [enqueue, run]) {
      expect(cli.code).toBe(2);
      expect(cli.stderr).toMatch(/needs the optional package `bullmq` \(and its Redis driver `ioredis`\): run `npm install bullmq ioredis`/);
    }
  });
});
