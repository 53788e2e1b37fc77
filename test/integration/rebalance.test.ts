import { describe, expect, it } from 'vitest';
import { TaskAbortedError, TaskTimeoutError } from 'looppool';
import { prng } from '../helpers/prng.ts';
import type { CpuAnswer, CpuTask } from '../fixtures/workers/cpu.ts';
import type { WaitSpinAnswer, WaitSpinTask } from '../fixtures/workers/waits-then-spins.ts';
import { makePool } from '../helpers/pools.ts';

const range = (n: number) => [...Array(n).keys()];

describe('tasks a worker has not started go to an idle worker', () => {
  it('hands a busy worker’s waiting tasks to a worker that ran out of tasks; each runs once', async () => {
    const pool = makePool<CpuTask, CpuAnswer>({ worker: 'cpu.ts', size: 2, concurrency: 100 });
    await pool.start();
    const sentTo: number[][] = range(40).map(() => []);
    // Dispatch alternates: worker 0 gets 20 tasks of 50 ms, worker 1 20 instant ones.
    const answers = await Promise.all(
      range(40).map((i) => pool.run({ ms: 50, slowOn: 0, value: i }, { onDispatch: ({ worker }) => sentTo[i]!.push(worker) })),
    );
    expect(answers.map((a) => a.value)).toEqual(range(40));
    expect(sentTo.map((to) => to[0])).toEqual(range(40).map((i) => i % 2));
    const moved = answers.filter((a, i) => sentTo[i]![0] === 0 && a.worker === 1);
    expect(moved.length).toBeGreaterThan(0);
    for (const a of moved) expect(sentTo[a.value as number]).toEqual([0, 1]);
    // Every task ran exactly once, on the worker that answered it.
    const ran = [(await pool.run({ ms: 0, value: 'end' }, { worker: 0 })).ran, (await pool.run({ ms: 0, value: 'end' }, { worker: 1 })).ran];
    expect([...ran[0]!, ...ran[1]!].filter((v) => v !== 'end').sort((a, b) => (a as number) - (b as number))).toEqual(range(40));
    for (const a of answers) expect(ran[a.worker]).toContain(a.value);
    expect(pool.stats()).toMatchObject({ inFlight: 0, done: 42, failed: 0, retried: 0, handedBack: moved.length });
  });

  it.each(['round-robin', 'least-busy'] as const)('with dispatch %s, the tasks a busy worker hands back go to the idle worker, not back to it', async (dispatch) => {
    const pool = makePool<CpuTask, CpuAnswer>({ worker: 'cpu.ts', size: 2, concurrency: 100, dispatch });
    await pool.start();
    const sentTo: number[][] = range(40).map(() => []);
    // Worker 0 gets 20 tasks of 50 ms, worker 1 20 instant ones: it runs out of tasks at once.
    const answers = await Promise.all(
      range(40).map((i) => pool.run({ ms: 50, slowOn: 0, value: i }, { onDispatch: ({ worker }) => sentTo[i]!.push(worker) })),
    );
    expect(sentTo.map((to) => to[0])).toEqual(range(40).map((i) => i % 2));
    const sentAgain = range(40).filter((i) => sentTo[i]!.length > 1);
    expect(sentAgain.length).toBeGreaterThan(0);
    // Each was handed back once, by worker 0, and sent to worker 1, which ran it. Before, under
    // round-robin, half of them went straight back to worker 0 (its turn), some of those again
    // and again (a task was sent up to 7 times), while worker 1 idled between the requests.
    for (const i of sentAgain) expect(sentTo[i]).toEqual([0, 1]);
    for (const i of sentAgain) expect(answers[i]!.worker).toBe(1);
    expect(pool.stats()).toMatchObject({ done: 40, failed: 0, handedBack: sentAgain.length });
  });

  it('a worker draining for a recycle hands back its waiting tasks to a worker that ran out of them', async () => {
    // Each worker reaches maxTasksPerWorker at once, so both drain: worker 0 with 100 tasks of 30 ms,
    // worker 1 with instant ones. Worker 1's replacement then idles; before, worker 0 ran its
    // 3 s backlog alone, since a worker draining for a recycle handed nothing back.
    const pool = makePool<CpuTask, CpuAnswer>({ worker: 'cpu.ts', size: 2, concurrency: 100, maxTasksPerWorker: 100 });
    await pool.start();
    const sentTo: number[] = [];
    const answers = await Promise.all(range(200).map((i) => pool.run({ ms: 30, slowOn: 0, value: i }, { onDispatch: ({ worker }) => (sentTo[i] ??= worker) })));
    expect(answers.map((a) => a.value)).toEqual(range(200));
    const moved = answers.filter((a, i) => sentTo[i] === 0 && a.worker === 1);
    expect(moved.length).toBeGreaterThan(0);
    expect(pool.stats()).toMatchObject({ done: 200, failed: 0, handedBack: moved.length });
  });

  it('never moves a task sent to a given worker', async () => {
    const pool = makePool<CpuTask, CpuAnswer>({ worker: 'cpu.ts', size: 2, concurrency: 100 });
    await pool.start();
    const sentTo: number[][] = range(12).map(() => []);
    const pinned = range(12).map((i) => pool.run({ ms: 50, value: i }, { worker: 0, onDispatch: ({ worker }) => sentTo[i]!.push(worker) }));
    const other = await pool.run({ ms: 0, value: 'other' }); // worker 1: done at once, then idle
    expect(other.worker).toBe(1);
    const answers = await Promise.all(pinned);
    expect(answers.map((a) => [a.value, a.worker])).toEqual(range(12).map((i) => [i, 0]));
    // Worker 1 idled while worker 0 held waiting tasks, but none of them was handed back:
    // each was sent once (a hand-back would send it to worker 0 again) and they ran in order.
    expect(sentTo).toEqual(range(12).map(() => [0]));
    expect(answers.at(-1)!.ran).toEqual(range(12));
    expect(pool.stats().handedBack).toBe(0);
  });

  it('hands back only the tasks not given a worker when a worker holds both', async () => {
    const pool = makePool<CpuTask, CpuAnswer>({ worker: 'cpu.ts', size: 2, concurrency: 100 });
    await pool.start();
    const errors: Error[] = [];
    pool.on('workerError', (error) => errors.push(error));
    const sentTo: number[][] = range(26).map(() => []);
    const onDispatch = (i: number) => ({ onDispatch: ({ worker }: { worker: number }) => sentTo[i]!.push(worker) });
    // 20 tasks alternate (worker 0's take 50 ms, worker 1's none), then 6 of 50 ms for worker 0.
    const free = range(20).map((i) => pool.run({ ms: 50, slowOn: 0, value: i }, onDispatch(i)));
    const pinned = range(6).map((k) => pool.run({ ms: 50, value: 20 + k }, { worker: 0, ...onDispatch(20 + k) }));
    const answers = await Promise.all([...free, ...pinned]);
    expect(answers.map((a) => a.value)).toEqual(range(26));
    const moved = answers.filter((a, i) => sentTo[i]![0] === 0 && a.worker === 1);
    expect(moved.length).toBeGreaterThan(0);
    for (const a of moved) expect(sentTo[a.value as number]).toEqual([0, 1]);
    expect(sentTo.slice(20)).toEqual(range(6).map(() => [0]));
    expect(answers.slice(20).map((a) => a.worker)).toEqual(range(6).map(() => 0));
    expect(errors).toEqual([]);
    expect(pool.stats()).toMatchObject({ handedBack: moved.length, restarts: 0 });
  });

  it('counts only the waiting tasks given a worker by number against the share: those already running take no place in the run queue', async () => {
    // Worker 0 runs 30 long tasks sent to it by number (all started: they wait on a timer), then
    // alternating dispatch gives it the 10 slow CPU tasks of a batch and worker 1 the 10 quick
    // ones. Counted as if they still waited, the 30 left a share of max(0, 9 - 30) / 2 = 0.
    const pool = makePool<WaitSpinTask, WaitSpinAnswer>({ worker: 'waits-then-spins.ts', size: 2, dispatch: 'round-robin' });
    await pool.start();
    const release = new AbortController();
    const pinned = range(30).map((i) => pool.run({ value: `pinned ${i}`, wait: 60_000 }, { worker: 0, signal: release.signal }).catch((e: unknown) => e));
    const batch = await Promise.all(range(20).map((i) => pool.run({ value: i, spin: i % 2 === 0 ? 300 : 10 })));
    const slowOn = (w: number) => batch.filter((a) => (a.value as number) % 2 === 0 && a.worker === w).length;
    expect(slowOn(1)).toBeGreaterThan(0); // before: 0, worker 0 ran all ten
    expect(slowOn(0) + slowOn(1)).toBe(10);
    expect(pool.stats().handedBack).toBe(slowOn(1)); // worker 0 (never idle) takes none back, round-robin or not
    release.abort();
    for (const outcome of await Promise.all(pinned)) expect(outcome).toBeInstanceOf(TaskAbortedError);
  });

  it('an idle worker whose hand-back came back empty asks another busy worker: the busiest by movable tasks may have started them all', async () => {
    // Worker 2 is kept full (concurrency 20) by tasks sent to it by number, so the batch alternates
    // between workers 0 and 1: worker 0 gets 20 tasks that wait on a timer (started at once,
    // movable but not waiting), worker 1 20 CPU tasks of 100 ms (one runs, the rest wait). When
    // worker 2 runs out of tasks, worker 0 holds the most movable ones and is asked first: it has
    // none waiting. Before, nobody asked worker 1, and worker 2 idled through its 2 s backlog.
    const pool = makePool<WaitSpinTask, WaitSpinAnswer>({ worker: 'waits-then-spins.ts', size: 3, concurrency: 20, dispatch: 'round-robin' });
    await pool.start();
    const release = new AbortController();
    const onTwo = range(20).map((i) => pool.run({ value: `on 2: ${i}`, wait: 300 }, { worker: 2 }));
    const waitSentTo: number[] = [];
    const cpuSentTo: number[] = [];
    const waits: Promise<unknown>[] = [];
    const cpu: Promise<WaitSpinAnswer>[] = [];
    for (let i = 0; i < 20; i++) {
      waits.push(pool.run({ value: `wait ${i}`, wait: 60_000 }, { signal: release.signal, onDispatch: ({ worker }) => waitSentTo.push(worker) }).catch((e: unknown) => e));
      cpu.push(pool.run({ value: i, spin: 100 }, { onDispatch: ({ worker }) => (cpuSentTo[i] ??= worker) }));
    }
    expect(waitSentTo).toEqual(range(20).map(() => 0));
    expect(cpuSentTo).toEqual(range(20).map(() => 1));
    await Promise.all(onTwo);
    const answers = await Promise.all(cpu);
    expect(answers.map((a) => a.value)).toEqual(range(20));
    const movedToTwo = answers.filter((a) => a.worker === 2).length;
    expect(movedToTwo).toBeGreaterThan(0);
    expect(answers.filter((a) => a.worker === 0)).toEqual([]); // worker 0 was never idle
    expect(pool.stats().handedBack).toBeGreaterThanOrEqual(movedToTwo);
    release.abort();
    for (const outcome of await Promise.all(waits)) expect(outcome).toBeInstanceOf(TaskAbortedError);
  });

  it('fails a task aborted while it waits for its turn in a worker, without running it', async () => {
    const pool = makePool<CpuTask, CpuAnswer>({ worker: 'cpu.ts', size: 1, concurrency: 100 });
    await pool.start();
    const controller = new AbortController();
    const tasks = range(10).map((i) => pool.run({ ms: 100, value: i }, i === 8 ? { signal: controller.signal } : {}));
    // The abort travels with the tasks: the worker starts one, queues the rest, then reads it.
    controller.abort();
    await expect(tasks[8]).rejects.toBeInstanceOf(TaskAbortedError);
    await Promise.all(tasks.filter((_, i) => i !== 8));
    const { ran } = await pool.run({ ms: 0, value: 'last' });
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 9, 'last']);
    expect(pool.stats().inFlight).toBe(0); // the worker answered for the aborted task too
  });

  it('fails a task whose timeout passes while it waits for its turn, without running it or killing the worker', async () => {
    // A grace long enough that only a worker whose loop does not turn is killed.
    const pool = makePool<CpuTask, CpuAnswer>({ worker: 'cpu.ts', size: 1, concurrency: 100, timeoutGrace: 5_000 });
    await pool.start();
    const tasks = range(10).map((i) => pool.run({ ms: 200, value: i }, i === 8 ? { timeout: 100 } : {}));
    const error = await tasks[8]!.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error).toMatchObject({ phase: 'soft' });
    await Promise.all(tasks.filter((_, i) => i !== 8));
    const { ran } = await pool.run({ ms: 0, value: 'last' });
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 9, 'last']);
    expect(pool.stats()).toMatchObject({ restarts: 0, timedOut: 1, inFlight: 0 });
  });

  it('a worker with a backlog of waiting tasks answers a broadcast, and sends the answers it has, before the backlog ends', async () => {
    const pool = makePool<CpuTask, CpuAnswer>({ worker: 'cpu.ts', size: 1, concurrency: 100 });
    await pool.start();
    const tasks = range(12).map((i) => pool.run({ ms: 100, value: i }));
    // How many tasks had been answered when the first answer, and the broadcast's, arrived.
    const doneAtFirstAnswer = tasks[0]!.then(() => pool.stats().done);
    const doneAtBroadcast = pool.broadcast('ping').then(() => pool.stats().done);
    expect(await doneAtFirstAnswer).toBeLessThan(12);
    expect(await doneAtBroadcast).toBeLessThan(12);
    expect((await Promise.all(tasks)).map((a) => a.value)).toEqual(range(12));
  });

  it('a SafeWorker stopped while tasks wait for their turn runs them all before it exits', async () => {
    const pool = makePool<CpuTask, CpuAnswer>({ worker: 'safe-cpu.ts', size: 1, concurrency: 100 });
    await pool.start();
    const tasks = range(10).map((i) => pool.run({ ms: 50, value: i }));
    const stopped = pool.stop(); // the poison pill follows the tasks
    const answers = await Promise.all(tasks);
    expect(answers.map((a) => a.value)).toEqual(range(10));
    expect(answers.at(-1)!.ran).toEqual(range(10));
    await stopped;
    expect(pool.stats().state).toBe('stopped');
  });

  it('under random aborts and pinned tasks, every task settles once and runs at most once', async () => {
    const random = prng(11);
    const pool = makePool<CpuTask, CpuAnswer>({ worker: 'cpu.ts', size: 3, concurrency: 40 });
    await pool.start();
    const n = 600;
    const sentTo: number[][] = range(n).map(() => []);
    const settled = new Uint8Array(n);
    const aborted = new Set<number>();
    const outcomes = range(n).map((i) => {
      const controller = new AbortController();
      if (random() < 0.1) {
        aborted.add(i);
        setTimeout(() => controller.abort(), random() * 500);
      }
      const worker = random() < 0.1 ? Math.floor(random() * 3) : undefined;
      // Worker 0 is slow (30 ms a task: its first 40 take 1.2 s), the others instant: they run
      // out of tasks while worker 0 still holds many it has not started (at 10 ms a task, on a
      // machine loaded 8 times over, worker 0 sometimes finished its 40 first: nothing was handed back).
      return pool.run({ ms: 30, slowOn: 0, value: i }, { signal: controller.signal, onDispatch: ({ worker: w }) => sentTo[i]!.push(w), ...(worker === undefined ? {} : { worker }) }).then(
        (answer) => {
          expect(answer.value).toBe(i);
          if (worker !== undefined) expect(answer.worker).toBe(worker);
          settled[i]! += 1;
          return answer;
        },
        (error: unknown) => {
          expect(aborted.has(i), `task ${i}: ${String(error)}`).toBe(true);
          expect(error).toBeInstanceOf(TaskAbortedError);
          settled[i]! += 1;
          return undefined;
        },
      );
    });
    const answers = await Promise.all(outcomes);
    expect([...settled].every((count) => count === 1)).toBe(true);
    expect(sentTo.some((to) => to.length > 1)).toBe(true); // tasks were handed back
    const ran = (await Promise.all([0, 1, 2].map((w) => pool.run({ ms: 0, value: 'end' }, { worker: w })))).map((a) => a.ran.filter((v) => v !== 'end') as number[]);
    const all = ran.flat().sort((a, b) => a - b);
    expect(new Set(all).size).toBe(all.length); // none ran twice
    const answered = range(n).filter((i) => answers[i] !== undefined);
    expect(answered.every((i) => ran[answers[i]!.worker]!.includes(i))).toBe(true);
    expect(all.every((i) => answers[i] !== undefined || aborted.has(i))).toBe(true);
    expect(pool.stats()).toMatchObject({ inFlight: 0, queued: 0 });
  });
});
