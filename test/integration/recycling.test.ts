import { createSocket } from 'node:dgram';
import { readdirSync, readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BroadcastTimeoutError, TaskAbortedError, TaskTimeoutError, WorkerCrashedError, WorkerStoppedError, type WorkerExitInfo } from 'looppool';
import { makePool } from '../helpers/pools.ts';
import { waitFor } from '../helpers/processes.ts';

describe('recycling', () => {
  it('maxTasksPerWorker: workers drain, exit and are replaced without failing a task', async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 2, concurrency: 4, maxTasksPerWorker: 5 });
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const pids = new Set<number>();
    pool.on('workerStart', (info) => pids.add(info.pid));
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.run({ ms: 5, value: i })));
    expect(answers.map((a) => a.value)).toEqual([...Array(40).keys()]);
    expect(pool.stats().failed).toBe(0);
    // Each process is sent at most 5 tasks, so 40 tasks need at least 8 of them.
    expect(pids.size).toBeGreaterThanOrEqual(8);
    expect(exits.length).toBeGreaterThan(0);
    expect(exits.every((e) => e.reason === 'recycle' && e.expected)).toBe(true);
    expect(pool.stats().workers.every((w) => w.done <= 5)).toBe(true);
  });

  it('a worker recycled for maxTasksPerWorker whose dispose() never ends is killed stopTimeout after it began, and replaced: the tasks behind it run', async () => {
    // Before: its slot was lost for good, and with it every task queued for the pool (size 1).
    const pool = makePool({ worker: 'dispose-hangs.mjs', size: 1, maxTasksPerWorker: 1, stopTimeout: 300 });
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const pids = [await pool.run('a'), await pool.run('b'), await pool.run('c')];
    expect(new Set(pids).size).toBe(3);
    await waitFor(() => exits.length >= 2, 'the first two workers to exit');
    expect(exits.slice(0, 2)).toMatchObject([
      { pid: pids[0], reason: 'recycle', signal: 'SIGKILL', expected: true },
      { pid: pids[1], reason: 'recycle', signal: 'SIGKILL', expected: true },
    ]);
  });

  it('a plain Worker recycled mid-work still finishes its tasks', async () => {
    const pool = makePool({ worker: 'gate.ts', size: 1, concurrency: 10, maxTasksPerWorker: 5 });
    await pool.start();
    const tasks = Array.from({ length: 5 }, (_, i) => pool.run(i));
    // The fifth task sent starts the recycle while all five wait at the gate: they must still finish.
    expect(pool.stats().workers[0]?.state).toBe('stopping');
    expect(await pool.broadcast('open')).toEqual(['ok']);
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3, 4]);
  });

  it.each([true, false])('a plain Worker draining for a recycle stops at once at stop({ drain: %s }), as every plain Worker does', async (drain) => {
    // Before, it went on draining: a task that never ends held the stop until its timeout killed the worker, dispose() not run.
    const pool = makePool({ worker: 'gate.ts', size: 1, concurrency: 2, maxTasksPerWorker: 1 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const task = pool.run('never opened').catch((e: unknown) => e);
    expect(pool.stats().workers[0]?.state).toBe('stopping'); // its one task sent: the recycle began
    await pool.stop({ drain, timeout: 20_000 });
    expect(await task).toBeInstanceOf(WorkerStoppedError);
    expect(exits).toMatchObject([{ worker: 0, signal: null, exitCode: 0, reason: 'stop', expected: true }]);
  });

  it('a SafeWorker draining for a recycle finishes its tasks at stop({ drain: false }), as every SafeWorker does', async () => {
    const pool = makePool({ worker: 'safe-sleep.ts', size: 1, concurrency: 2, maxTasksPerWorker: 1 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const task = pool.run(300);
    expect(pool.stats().workers[0]?.state).toBe('stopping');
    await pool.stop({ drain: false, timeout: 20_000 });
    expect(await task).toBe(300);
    expect(exits).toMatchObject([{ worker: 0, signal: null, exitCode: 0, reason: 'stop', expected: true }]);
  });

  it('maxMemoryPerWorker: a leaking worker is replaced once its RSS passes the limit, and no task fails', async () => {
    const pool = makePool({ worker: 'leaks.ts', size: 1, maxMemoryPerWorker: 200 * 1024 * 1024, memoryCheckInterval: 50 });
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const pids = new Set<number>();
    for (let i = 0; i < 40 && exits.length === 0; i++) {
      pids.add(await pool.run(20));
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    expect(exits[0]).toMatchObject({ reason: 'recycle', expected: true });
    pids.add(await pool.run(1));
    expect(pids.size).toBe(2);
    expect(pool.stats().failed).toBe(0);
  });

  it('maxMemoryPerWorker: a worker over the limit whose loop is blocked is killed stopTimeout after its recycle; its task fails, the pool goes on', async () => {
    // Before: the recycle only sent a pill, which a blocked worker never reads: it kept the memory (and the task) for good.
    const pool = makePool({ worker: 'leaks-and-blocks.ts', size: 1, maxMemoryPerWorker: 150 * 1024 * 1024, memoryCheckInterval: 50, stopTimeout: 300 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const blocked = (await pool.run(200).catch((e: unknown) => e)) as WorkerCrashedError;
    expect(blocked).toBeInstanceOf(WorkerCrashedError);
    expect(blocked.message).toMatch(/^Worker 0 \(pid \d+\) was killed: its recycle had not ended within stopTimeout \(signal SIGKILL\)$/);
    expect(exits).toMatchObject([{ reason: 'recycle', expected: true, signal: 'SIGKILL' }]);
    expect(typeof (await pool.run(0))).toBe('number'); // the replacement
  });

  it('maxMemoryPerWorker: a worker draining for maxTasksPerWorker whose task holds memory past the limit is killed stopTimeout after', async () => {
    // Before: a worker draining for its task count was no longer sampled: its task kept the memory (and the slot) for good.
    const pool = makePool({ worker: 'holds-memory.ts', size: 1, concurrency: 2, maxTasksPerWorker: 2, maxMemoryPerWorker: 100 * 1024 * 1024, memoryCheckInterval: 50, stopTimeout: 300 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    expect(typeof (await pool.run({}))).toBe('number');
    // Its second task: the worker drains for its recycle as the task fills its memory, and keeps it.
    const held = (await pool.run({ mib: 160 }).catch((e: unknown) => e)) as WorkerCrashedError;
    expect(held).toBeInstanceOf(WorkerCrashedError);
    expect(held.message).toMatch(/was killed: its recycle had not ended within stopTimeout \(signal SIGKILL\)$/);
    expect(exits).toMatchObject([{ reason: 'recycle', expected: true, signal: 'SIGKILL' }]);
    expect(typeof (await pool.run({}))).toBe('number'); // the replacement
  });

  it('a pool replacing workers often keeps no descriptor open on those gone (pidusage held /proc/<pid>/stat 60-90 s, after the stop too)', async () => {
    // Before: one descriptor per worker ever sampled, for the memory limit or for statsd; hundreds for a busy pool.
    const sink = createSocket('udp4');
    await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
    const onWarning = (): void => {}; // the pool's warning that the limit is below what a worker needs: expected here
    process.on('warning', onWarning);
    const statFds = (): string[] =>
      readdirSync('/proc/self/fd')
        .map((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`);
          } catch {
            return ''; // closed meanwhile (this very listing's)
          }
        })
        .filter((link) => /^\/proc\/\d+\/stat$/.test(link) && link !== `/proc/${process.pid}/stat`);
    try {
      const pool = makePool({ worker: 'echo.ts', size: 1, maxMemoryPerWorker: 1024 * 1024, memoryCheckInterval: 20, statsd: { host: '127.0.0.1', port: sink.address().port } });
      const exits: WorkerExitInfo[] = [];
      pool.on('workerExit', (info) => exits.push(info));
      await pool.start();
      await waitFor(() => exits.length >= 8, 'workers recycled for memory');
      await pool.stop();
      await waitFor(() => statFds().length === 0, 'no descriptor left on a worker gone', 10_000);
    } finally {
      process.off('warning', onWarning);
      sink.close();
    }
  });

  it('maxMemoryPerWorker below what a fresh worker needs: the pool says so once, as a process warning', async () => {
    // Every worker is over 1 MiB from the start: each is recycled at its first check, for ever.
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const pool = makePool({ worker: 'echo.ts', size: 1, maxMemoryPerWorker: 1024 * 1024, memoryCheckInterval: 20 });
      const exits: WorkerExitInfo[] = [];
      pool.on('workerExit', (info) => exits.push(info));
      await pool.start();
      await waitFor(() => warnings.some((w) => (w as { code?: string }).code === 'LOOPPOOL_MEMORY_LIMIT'), 'the warning');
      const ours = warnings.filter((w) => (w as { code?: string }).code === 'LOOPPOOL_MEMORY_LIMIT');
      expect(ours[0]?.message).toMatch(/3 workers in a row of pool 'pool' were over maxMemoryPerWorker \(1048576 bytes\) at their first memory check/);
      await waitFor(() => exits.length >= 6, 'more recycles');
      expect(exits.every((e) => e.reason === 'recycle')).toBe(true);
      expect(warnings.filter((w) => (w as { code?: string }).code === 'LOOPPOOL_MEMORY_LIMIT')).toHaveLength(1); // once
    } finally {
      process.off('warning', onWarning);
    }
  });

  it("a worker that dies while it drains for a recycle is a crash, not an expected 'recycle'", async () => {
    const pool = makePool({ worker: 'crash.ts', size: 1, concurrency: 2, maxTasksPerWorker: 2 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    // The second task sent starts the recycle; the worker then exits with code 3 before it drained.
    // (The first one's answer may be lost with the process: it is not looked at.)
    const [, second] = await Promise.allSettled([pool.run('pid'), pool.run('exit')]);
    expect(second.status === 'rejected' && second.reason).toBeInstanceOf(WorkerCrashedError);
    await waitFor(() => exits.length === 1, 'the exit');
    expect(exits[0]).toMatchObject({ worker: 0, exitCode: 3, reason: 'crash', expected: false });
    expect(typeof (await pool.run('pid'))).toBe('number');
  });

  it("a worker killed for a task's hard timeout while it drains for a recycle exits for 'timeout'", async () => {
    const pool = makePool({ worker: 'blocks.ts', size: 1, maxTasksPerWorker: 1, taskTimeout: 200, timeoutGrace: 200 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const error = await pool.run('block').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect((error as TaskTimeoutError).phase).toBe('hard');
    await waitFor(() => exits.length === 1, 'the exit');
    expect(exits[0]).toMatchObject({ worker: 0, signal: 'SIGKILL', reason: 'timeout', expected: false });
  });

  it('a worker recycled while it holds only tasks that timed out, which never end, is killed and replaced, not waited for', async () => {
    // gate.ts tasks ignore their signal and never end while the gate stays closed; the loop turns.
    const pool = makePool({ worker: 'gate.ts', size: 1, concurrency: 2, maxTasksPerWorker: 2, taskTimeout: 200, timeoutGrace: 200 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const first = pool.stats().workers[0]?.pid;
    // The second task sent starts the recycle: both then time out, soft (the worker's loop turns).
    const errors = await Promise.all([pool.run('a'), pool.run('b')].map((p) => p.catch((e: unknown) => e)));
    for (const error of errors) expect(error).toMatchObject({ name: 'TaskTimeoutError', phase: 'soft' });
    await waitFor(() => exits.length === 1, 'the recycled worker to end', 10_000);
    expect(exits[0]).toMatchObject({ worker: 0, pid: first, reason: 'recycle', expected: true });
    await waitFor(() => pool.stats().workers[0]?.state === 'ready', 'the replacement');
    const next = pool.run('c');
    expect(await pool.broadcast('open')).toEqual(['ok']);
    expect(await next).toBe('c');
  });

  it('a worker recycled while it holds only tasks their callers aborted, which never end, is killed after timeoutGrace and replaced', async () => {
    // No task timeout: before, only an answer of another task could end the wait, and none came.
    const pool = makePool({ worker: 'gate.ts', size: 1, concurrency: 2, maxTasksPerWorker: 2, timeoutGrace: 200 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const first = pool.stats().workers[0]?.pid;
    const controllers = [new AbortController(), new AbortController()];
    let dispatched = 0;
    // The second task sent starts the recycle; gate.ts tasks ignore their signal.
    const runs = controllers.map((c, i) => pool.run(`t${i}`, { signal: c.signal, onDispatch: () => dispatched++ }).catch((e: unknown) => e));
    await waitFor(() => dispatched === 2, 'both tasks sent');
    for (const c of controllers) c.abort();
    for (const error of await Promise.all(runs)) expect(error).toBeInstanceOf(TaskAbortedError);
    await waitFor(() => exits.length === 1, 'the recycled worker to end', 10_000);
    expect(exits[0]).toMatchObject({ worker: 0, pid: first, signal: 'SIGKILL', reason: 'recycle', expected: true });
    await waitFor(() => pool.stats().workers[0]?.state === 'ready', 'the replacement');
    const next = pool.run('c');
    expect(await pool.broadcast('open')).toEqual(['ok']);
    expect(await next).toBe('c');
  });

  // Before: the parent gave up on the broadcast, but the worker, draining, waited for its
  // onBroadcast, which never ended: the slot was lost for good, and with it (size 1) every task.
  it('a worker recycled while it holds only broadcasts that timed out, which never end, is killed and replaced, not waited for', async () => {
    const pool = makePool({ worker: 'holds-broadcast.ts', size: 1, maxTasksPerWorker: 2, timeoutGrace: 200 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const first = pool.stats().workers[0]?.pid;
    await expect(pool.broadcast('hold', { timeout: 100 })).rejects.toBeInstanceOf(BroadcastTimeoutError);
    // The second task sent starts the recycle; once both are done the worker holds only the held broadcast.
    expect(await Promise.all([pool.run('a'), pool.run('b')])).toEqual(['a', 'b']);
    await waitFor(() => exits.length === 1, 'the recycled worker to end', 10_000);
    expect(exits[0]).toMatchObject({ worker: 0, pid: first, signal: 'SIGKILL', reason: 'recycle', expected: true });
    expect(await pool.run('c')).toBe('c');
  });

  it('a worker draining for a recycle whose broadcast times out then, its tasks done, is killed and replaced', async () => {
    const pool = makePool({ worker: 'holds-broadcast.ts', size: 1, maxTasksPerWorker: 1, timeoutGrace: 200 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const held = pool.broadcast('hold', { timeout: 500 }).catch((e: unknown) => e);
    // Its one task starts the recycle; the worker answers it once the broadcast is being held, and drains on.
    expect(await pool.run('after hold')).toBe('after hold');
    expect(await held).toBeInstanceOf(BroadcastTimeoutError);
    await waitFor(() => exits.length === 1, 'the recycled worker to end', 10_000);
    expect(exits[0]).toMatchObject({ worker: 0, signal: 'SIGKILL', reason: 'recycle', expected: true });
    expect(await pool.run('c')).toBe('c');
  });

  it('a recycled worker whose timed-out broadcast ends within timeoutGrace is not killed: it reads broadcasts, drains and exits cleanly', async () => {
    const pool = makePool({ worker: 'holds-broadcast.ts', size: 1, maxTasksPerWorker: 1, timeoutGrace: 60_000 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const held = pool.broadcast('hold', { timeout: 50 }).catch((e: unknown) => e);
    expect(await pool.run('after hold')).toBe('after hold'); // its one task: the recycle began
    expect(await held).toBeInstanceOf(BroadcastTimeoutError);
    // Still running the held call, it reads the next broadcast (before, it was passed over: `undefined`).
    expect(await pool.broadcast('release')).toEqual(['released']);
    await waitFor(() => exits.length === 1, 'the recycled worker to exit');
    expect(exits[0]).toMatchObject({ worker: 0, signal: null, exitCode: 0, reason: 'recycle', expected: true });
  });

  it('a recycled worker whose aborted tasks honour their signal is not killed: they end, it drains and exits cleanly', async () => {
    // Aborted together, they end 50 and 500 ms later: the first answer leaves only the other
    // aborted task held, which still has its grace (before, that answer killed the worker).
    const pool = makePool({ worker: 'honours-signal.ts', size: 1, concurrency: 2, maxTasksPerWorker: 2, timeoutGrace: 10_000 });
    await pool.start();
    const exits: WorkerExitInfo[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const controllers = [new AbortController(), new AbortController()];
    let dispatched = 0;
    const runs = [50, 500].map((lingerMs, i) =>
      pool.run({ lingerMs }, { signal: (controllers[i] as AbortController).signal, onDispatch: () => dispatched++ }).catch((e: unknown) => e),
    );
    await waitFor(() => dispatched === 2, 'both tasks sent');
    for (const c of controllers) c.abort();
    for (const error of await Promise.all(runs)) expect(error).toBeInstanceOf(TaskAbortedError);
    await waitFor(() => exits.length === 1, 'the recycled worker to exit');
    expect(exits[0]).toMatchObject({ worker: 0, signal: null, exitCode: 0, reason: 'recycle', expected: true });
  });
});

