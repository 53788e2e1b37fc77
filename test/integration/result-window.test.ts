import { describe, expect, it } from 'vitest';
import { WorkerInitError, WorkerStoppedError, type ResultInfo, type WorkerExitInfo } from 'looppool';
import { makePool } from '../helpers/pools.ts';
import { waitFor } from '../helpers/processes.ts';

describe('ctx.putResult after its task settled', () => {
  it('throws ResultClosedError to its caller; the worker and a concurrent task go on', async () => {
    const pool = makePool({ worker: 'late-result.ts', size: 1 });
    const results: [unknown, ResultInfo][] = [];
    pool.on('result', (value, info) => results.push([value, info]));
    const reported: Error[] = [];
    pool.on('workerError', (error) => reported.push(error));
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    await pool.start();
    const pid = pool.stats().workers[0]?.pid;
    const waiting = pool.run('wait').catch((e: unknown) => e);
    let lateId = -1;
    expect(await pool.run('late', { onSubmit: (id) => (lateId = id) })).toBe('answered');
    await waitFor(() => results.length + reported.length > 0, 'the late call to be reported');
    expect(reported).toEqual([]);
    expect(results).toEqual([
      [{ late: lateId, name: 'ResultClosedError', code: 'ERR_RESULT_CLOSED', taskId: lateId }, { worker: 0, pid, taskId: null }],
    ]);
    await pool.broadcast('release');
    expect(await waiting).toBe('waited');
    expect(await pool.run('pid')).toBe(pid);
    expect(exits).toEqual([]);
  });

  it('thrown from a stray timer, it is reported as workerError, not as a protocol breach', async () => {
    const pool = makePool({ worker: 'late-result.ts', size: 1, restartOnError: false });
    const reported: [Error, { origin: string }][] = [];
    pool.on('workerError', (error, info) => reported.push([error, info]));
    const results: unknown[] = [];
    pool.on('result', (value) => results.push(value));
    await pool.start();
    const pid = pool.stats().workers[0]?.pid;
    const waiting = pool.run('wait').catch((e: unknown) => e);
    let lateId = -1;
    expect(await pool.run('late-uncaught', { onSubmit: (id) => (lateId = id) })).toBe('answered');
    await waitFor(() => reported.length === 1, 'the report');
    const [error, info] = reported[0] as [Error, { origin: string }];
    expect(error).toMatchObject({ name: 'ResultClosedError', code: 'ERR_RESULT_CLOSED', taskId: lateId });
    expect(error.message).toMatch(`task ${lateId}: the task has already settled (done)`);
    expect(info.origin).toBe('uncaughtException');
    await pool.broadcast('release');
    expect(await waiting).toBe('waited');
    expect(await pool.run('pid')).toBe(pid);
    expect(results).toEqual([]);
    expect(pool.stats()).toMatchObject({ restarts: 0, failed: 0 });
  });
});

describe('this.putResult outside the window where results are delivered', () => {
  it('in initialize(), it throws ResultClosedError: the worker fails to start', async () => {
    const pool = makePool({ worker: 'result-in-initialize.ts', size: 1 });
    const error = (await pool.start().catch((e: unknown) => e)) as WorkerInitError;
    expect(error).toBeInstanceOf(WorkerInitError);
    expect(error.stage).toBe('initialize');
    expect(error.cause).toMatchObject({ name: 'ResultClosedError', code: 'ERR_RESULT_CLOSED', taskId: null });
    expect((error.cause as Error).message).toMatch('has not returned from initialize() yet');
  });

  it('right after initialize() has returned, before the worker is ready, it is delivered: a feed initialize() starts does not fail the start', async () => {
    // blockedLoopThreshold: the watchdog's start lies between initialize()'s end and ready, where the feed's first result fell.
    const pool = makePool({ worker: 'result-after-initialize.mjs', size: 2, blockedLoopThreshold: 1000 });
    const results: [unknown, number | null][] = [];
    pool.on('result', (value, info) => results.push([value, info.taskId]));
    await pool.start();
    expect(await pool.run('x')).toBe('x');
    await waitFor(() => results.length === 2, 'both workers to put their result');
    expect(results.sort()).toEqual([['fed by 0', null], ['fed by 1', null]]);
  });

  it('a SafeWorker delivers results while it drains; in dispose() this.putResult throws', async () => {
    const pool = makePool({ worker: 'result-in-dispose.ts', size: 1 });
    const results: [unknown, number | null][] = [];
    pool.on('result', (value, info) => results.push([value, info.taskId]));
    const reported: Error[] = [];
    pool.on('workerError', (error) => reported.push(error));
    await pool.start();
    const ids: number[] = [];
    const tasks = [300, 300].map((ms) => pool.run(ms, { onSubmit: (id) => ids.push(id) }));
    await waitFor(() => pool.stats().inFlight === 2, 'the tasks to be dispatched');
    await pool.stop();
    expect(await Promise.all(tasks)).toEqual([300, 300]);
    expect(results).toEqual(expect.arrayContaining(ids.flatMap((id) => [[{ ctx: id }, id], [{ worker: id }, null]])));
    expect(results).toHaveLength(4);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ name: 'ResultClosedError', code: 'ERR_RESULT_CLOSED', taskId: null });
    expect(reported[0]?.message).toMatch('dispose() has begun');
  });

  it("a plain Worker's abort listeners still put results when it stops; the task rejects with WorkerStoppedError", async () => {
    const pool = makePool({ worker: 'puts-on-stop.ts', size: 1 });
    const results: [unknown, number | null][] = [];
    pool.on('result', (value, info) => results.push([value, info.taskId]));
    const reported: Error[] = [];
    pool.on('workerError', (error) => reported.push(error));
    await pool.start();
    let id = -1;
    const task = pool.run('x', { onSubmit: (taskId) => (id = taskId) }).catch((e: unknown) => e);
    await waitFor(() => pool.stats().inFlight === 1, 'the task to run');
    await pool.stop();
    expect(await task).toBeInstanceOf(WorkerStoppedError);
    expect(results).toEqual([
      [{ ctx: 'WorkerStoppedError' }, id],
      [{ worker: 'WorkerStoppedError' }, null],
    ]);
    expect(reported).toEqual([]);
  });
});
