import { describe, expect, it } from 'vitest';
import { TaskTimeoutError } from 'looppool';
import { makePool } from '../helpers/pools.ts';

/** Big payloads share each worker's channel with small messages (frame-writer.ts: two lanes). */
describe('big payloads alongside small tasks', () => {
  it('a small task passes big tasks queued before it on the same worker, each way', async () => {
    const pool = makePool({ worker: 'big-stream.ts', size: 1 });
    await pool.start();
    const order: string[] = [];
    const big = Array.from({ length: 64 }, (_, i) => {
      const text = `${i}:`.padEnd(256 * 1024, 'b');
      return pool.run({ echo: text }).then((back) => {
        expect(back).toBe(text);
        order.push(`big ${i}`);
      });
    });
    const small = pool.run({ echo: 'small' }).then((back) => {
      expect(back).toBe('small');
      order.push('small');
    });
    await Promise.all([...big, small]);
    // 16 MiB of big tasks were queued first; the small one travels past most of them.
    expect(order.indexOf('small')).toBeLessThan(32);
    expect(order.filter((x) => x !== 'small')).toEqual(Array.from({ length: 64 }, (_, i) => `big ${i}`));
  });

  it('a ping passes a big task in transit: a task timing out beside it is soft, and its healthy worker is not killed', async () => {
    // A 60 MB task is handed to the pipe a part at a time, and the timeout's ping goes between two
    // parts. Before, the ping waited behind the whole task: the worker, only busy reading it, looked
    // blocked, and was killed with its other tasks.
    const pool = makePool({ worker: 'big-stream.ts', size: 1, timeoutGrace: 300 });
    await pool.start();
    const exits: unknown[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const sibling = pool.run({ sleep: 1500 });
    const big = pool.run({ untilAbort: Buffer.alloc(60_000_000, 1) }, { timeout: 20 }).catch((e: unknown) => e);
    const error = (await big) as TaskTimeoutError;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error.phase).toBe('soft');
    expect(await sibling).toBe('slept');
    expect(exits).toEqual([]);
  });

  it('a task\'s streamed results, big ones too, all arrive before its answer, in order', async () => {
    const pool = makePool({ worker: 'big-stream.ts', size: 1 });
    const seen: unknown[] = [];
    pool.on('result', (value, info) => seen.push(info.taskId === null ? value : typeof value === 'string' ? value.split(':')[0] : value));
    // Other tasks' big answers are queued at the same time, so the answer could otherwise pass.
    const others = Array.from({ length: 16 }, () => pool.run({ echo: 'e'.repeat(256 * 1024) }));
    const answer = await pool.run({ count: 20, bytes: 100 * 1024 });
    expect(answer).toBe('done');
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    await Promise.all(others);
  });

  it('the poison pill stays behind big tasks still queued: a SafeWorker answers every one', async () => {
    const pool = makePool({ worker: 'safe-echo.ts', size: 1 });
    await pool.start();
    const texts = Array.from({ length: 32 }, (_, i) => `${i}:`.padEnd(256 * 1024, 's'));
    const answers = texts.map((text) => pool.run(text));
    await pool.stop(); // the queue is empty at once: the pill is written right behind the tasks
    expect(await Promise.all(answers)).toEqual(texts);
  });

  it('a big task retried on a new worker after a crash carries its payload exactly', async () => {
    const pool = makePool({ worker: 'big-stream.ts', size: 1, retries: 1 });
    const payload = `${'ü'.repeat(40_000)}\ud83d\ude00`;
    expect(await pool.run({ crashOnce: payload })).toEqual({ payload, attempt: 2 });
  });
});
