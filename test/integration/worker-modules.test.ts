import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PoolStoppedError, WorkerInitError, WorkerStoppedError } from 'looppool';
import { fixture, makePool, pidsOf } from '../helpers/pools.ts';
import { commandLine, isAlive, waitFor } from '../helpers/processes.ts';

describe('worker modules', () => {
  it('runs a TypeScript worker file', async () => {
    const pool = makePool({ worker: 'echo.ts' });
    expect(await pool.run({ hello: ['world', 1] })).toEqual({ hello: ['world', 1] });
  });

  it('runs a JavaScript worker file', async () => {
    const pool = makePool({ worker: 'echo.mjs' });
    expect(await pool.run('js')).toBe('js');
  });

  // looppool/worker is the worker's entry file (src/child/main.ts): require() of an ES module
  // works only on one without top-level await.
  it('runs a CommonJS worker file that require()s looppool/worker', async () => {
    const pool = makePool({ worker: 'echo.cjs' });
    expect(await pool.run('cjs')).toBe('cjs');
  });

  it('runs a CommonJS TypeScript worker file (.cts) that imports looppool/worker', async () => {
    const pool = makePool({ worker: 'echo.cts' });
    expect(await pool.run({ cts: true })).toEqual({ cts: true });
  });

  it('runs a .tsx worker file', async () => {
    const pool = makePool({ worker: 'echo.tsx' });
    expect(await pool.run(['tsx'])).toEqual(['tsx']);
  });

  // tsx caches what it compiles in <tmpdir>/tsx-<euid>. Where that directory could not be made (a
  // TMPDIR that is missing or not the user's to write, a read-only /tmp), every TypeScript worker
  // failed to start (ENOTDIR/EACCES/EROFS, mkdir '…/tsx-<euid>'). A path through a regular file
  // is such a TMPDIR for root too.
  it.each(['echo.ts', 'echo.cts'])('runs a TypeScript worker file (%s) when TMPDIR cannot hold tsx’s cache', async (file) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-tmpdir-'));
    try {
      writeFileSync(path.join(dir, 'file'), '');
      const pool = makePool({ worker: file, size: 1, env: { ...process.env, TMPDIR: path.join(dir, 'file', 'tmp') } });
      expect(await pool.run({ file })).toEqual({ file });
      await pool.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // tsx takes the tsconfig.json of the current directory: a worker whose project is elsewhere (the
  // tests run from the repository's root) lost its `paths` aliases (Cannot find module '@fx/x').
  it.each(['worker.mts', 'worker.cts'])('a TypeScript worker (%s) gets its own project’s tsconfig.json, not the current directory’s', async (file) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-tsconfig-'));
    try {
      mkdirSync(path.join(dir, 'lib'));
      mkdirSync(path.join(dir, 'src'));
      writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, paths: { '@fx/*': ['./lib/*'] } } }));
      writeFileSync(path.join(dir, 'lib', 'x.ts'), 'export const x = (n: number): number => n + 1;\n');
      writeFileSync(path.join(dir, 'src', file), "import { x } from '@fx/x';\nexport default (n: number): number => x(n);\n");
      const pool = makePool({ worker: path.join(dir, 'src', file), size: 1 });
      expect(await pool.run(41)).toBe(42);
      await pool.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // A thread's argv is its own script: the copy of looppool/worker it loads starts nothing.
  it('a worker thread started by a task can import looppool/worker, and the worker goes on', async () => {
    const pool = makePool({ worker: 'thread-import.mjs', size: 1 });
    expect(await pool.run(null)).toEqual({ api: 'function', signalListeners: 0 });
    expect(await pool.run(null)).toEqual({ api: 'function', signalListeners: 0 });
    expect(pool.stats()).toMatchObject({ restarts: 0, failed: 0 });
  });

  it('wraps a default-exported function in a Worker', async () => {
    const pool = makePool({ worker: 'function.mjs' });
    expect(await pool.run(21)).toBe(42);
  });

  it('resolves a relative worker path against the current directory', async () => {
    const relative = fixture('echo.mjs').replace(`${process.cwd()}/`, './');
    expect(relative.startsWith('./')).toBe(true);
    const pool = makePool({ worker: relative });
    expect(await pool.run(7)).toBe(7);
  });

  it('gives each worker its number, the workerData and a process title', async () => {
    const pool = makePool({ worker: 'info.ts', size: 3, name: 'titles', workerData: { db: 'x' } });
    await pool.start();
    const answers = await Promise.all([0, 1, 2].map((worker) => pool.run(null, { worker })));
    expect(answers.map((a) => a.number)).toEqual([0, 1, 2]);
    for (const a of answers) {
      expect(a.workerData).toEqual({ db: 'x' });
      expect(a.poolName).toBe('titles');
      expect(a.title).toBe(`looppool titles worker ${a.number}`);
      expect(commandLine(a.pid)).toBe(`looppool titles worker ${a.number}`);
      expect(a.ctxKeys).toEqual(['id', 'attempt']); // nothing of the runtime's own shows on a task's context
    }
  });

  it('gives workerData as it was: undefined without it, null as null, values JSON cannot carry intact', async () => {
    const none = makePool({ worker: 'info.ts', size: 1 });
    const empty = makePool({ worker: 'info.ts', size: 1, workerData: null }); // a value, not a missing option
    const rich = makePool({ worker: 'info.ts', size: 1, workerData: { at: new Date(0), missing: undefined, tags: new Set(['a']) } });
    const [plain, nothing, kept] = await Promise.all([none.run(null), empty.run(null), rich.run(null)]);
    expect(plain.workerData).toBeUndefined();
    expect(nothing.workerData).toBeNull();
    expect(kept.workerData).toEqual({ at: new Date(0), missing: undefined, tags: new Set(['a']) });
    expect(Object.keys(kept.workerData as object)).toEqual(['at', 'missing', 'tags']);
  });

  it('gives every worker, a replacement too, the workerData as the pool was given it', async () => {
    // One value travels as JSON, one through V8's serializer; both are encoded by the constructor.
    const plain = { db: 'x', hosts: ['a'] };
    const rich = { db: 'x', hosts: new Set(['a']) };
    const pools = [makePool({ worker: 'info.ts', size: 1, workerData: plain }), makePool({ worker: 'info.ts', size: 1, workerData: rich })];
    await Promise.all(pools.map((pool) => pool.start()));
    plain.db = 'changed';
    plain.hosts.push('b');
    rich.db = 'changed';
    rich.hosts.add('b');
    for (const pool of pools) {
      const first = await pool.run(null);
      let started = 0;
      pool.on('workerStart', () => started++);
      process.kill(first.pid, 'SIGKILL');
      await waitFor(() => started === 1, 'the replacement to start');
      const replacement = await pool.run(null);
      expect(replacement.pid).not.toBe(first.pid);
      expect([first.workerData, replacement.workerData]).toEqual(
        pool === pools[0] ? [{ db: 'x', hosts: ['a'] }, { db: 'x', hosts: ['a'] }] : [{ db: 'x', hosts: new Set(['a']) }, { db: 'x', hosts: new Set(['a']) }],
      );
    }
  });

  it('rejects start() with WorkerInitError carrying the error initialize() threw, and leaves no process', async () => {
    const pool = makePool({ worker: 'init-throws.ts' });
    const error = await pool.start().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerInitError);
    const init = error as WorkerInitError;
    expect(init.code).toBe('ERR_WORKER_INIT');
    expect(init.module).toContain('init-throws.ts');
    const cause = init.cause as Error & { code?: string };
    expect(cause.name).toBe('Error');
    expect(cause.message).toBe('bad config');
    expect(cause.code).toBe('E_BAD_CONFIG');
    expect(cause.stack).toContain('init-throws.ts');
    expect(pool.state).toBe('stopped');
    expect(pidsOf(pool)).toEqual([]); // no worker ever became ready
    expect(pool.stats().workers.every((w) => w.pid === -1 || !isAlive(w.pid))).toBe(true);
  });

  it('rejects start() with WorkerInitError (stage timeout) when a worker is not ready within startTimeout, and leaves no process', async () => {
    const pool = makePool({ worker: 'slow-init.ts', size: 2, startTimeout: 1000 }); // initialize() takes a minute
    const starting = pool.start().then(() => null, (e: unknown) => e);
    await waitFor(() => pool.stats().workers.every((w) => w.pid > 0), 'the workers to be spawned');
    const pids = pool.stats().workers.map((w) => w.pid);
    const error = (await starting) as WorkerInitError;
    expect(error).toBeInstanceOf(WorkerInitError);
    expect(error.stage).toBe('timeout');
    expect(error.message).toMatch(/failed to start .*slow-init\.ts: Error: it was not ready within startTimeout \(1000 ms\): its module or initialize\(\) did not finish/);
    expect(pool.state).toBe('stopped');
    expect(pids.some(isAlive)).toBe(false);
  });

  it('a ready that came in time but was read late (a busy parent) counts: the worker is not killed as not ready', async () => {
    const mark = path.join(os.tmpdir(), `looppool-mark-${process.pid}-${Date.now()}`);
    try {
      const pool = makePool({ worker: 'init-marks.mjs', size: 2, startTimeout: 2500, workerData: { mark, ms: 300 } });
      const exits: unknown[] = [];
      pool.on('workerExit', (info) => exits.push(info));
      const starting = pool.start();
      await waitFor(() => existsSync(`${mark}-0`) && existsSync(`${mark}-1`), 'both workers to be in initialize()');
      // Busy past startTimeout in the loop's check phase (the readies come meanwhile and wait unread
      // in the pipes): the next loop turn runs its timers before it reads them.
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          const end = Date.now() + 3000;
          while (Date.now() < end) {
            // busy
          }
          resolve();
        }),
      );
      await starting; // before: both were killed for 'timeout' first, then read as ready, and given tasks
      expect(await pool.run(5, { worker: 1 })).toBe(5);
      expect(exits).toEqual([]);
    } finally {
      for (const n of [0, 1]) rmSync(`${mark}-${n}`, { force: true });
    }
  });

  it.each([
    ['init-leaves-rejection.ts', 'initialize', 'config missing'],
    ['toplevel-rejects.mjs', 'load', 'config missing at load'],
  ])('rejects start() with WorkerInitError when %s leaves a rejection nobody handles (stage %s)', async (worker, stage, message) => {
    // Before: start() could resolve, and the worker then exited at once, again and again, with no backoff.
    const pool = makePool({ worker, size: 1 });
    const error = (await pool.start().catch((e: unknown) => e)) as WorkerInitError;
    expect(error).toBeInstanceOf(WorkerInitError);
    expect(error.stage).toBe(stage);
    expect((error.cause as Error).message).toBe(message);
    expect(pool.stats().restarts).toBe(0);
  });

  it('rejects start() with WorkerInitError when the constructor reads this.number: its cause is WorkerNotInPoolError, by name and code', async () => {
    const pool = makePool({ worker: 'number-in-constructor.ts', size: 1 });
    const error = (await pool.start().catch((e: unknown) => e)) as WorkerInitError;
    expect(error).toBeInstanceOf(WorkerInitError);
    expect(error.stage).toBe('load');
    expect(error.cause).toMatchObject({ name: 'WorkerNotInPoolError', code: 'ERR_WORKER_NOT_IN_POOL', property: 'number' });
    expect(error.message).toContain('WorkerNotInPoolError: Cannot read this.number: this worker is not running in a pool (in its constructor');
  });

  it('rejects start() with WorkerInitError when a field hides this.workerData (`workerData!: T`, which tsx compiles to a field); a getter over it works', async () => {
    // Before: the worker started and read its own undefined where the pool's workerData should be, silently.
    const workerData = { url: 'redis://cache' };
    const shadowed = makePool({ worker: 'shadows-worker-data.ts', size: 1, workerData });
    const error = (await shadowed.start().catch((e: unknown) => e)) as WorkerInitError;
    expect(error).toBeInstanceOf(WorkerInitError);
    expect(error.stage).toBe('load');
    expect(error.cause).toMatchObject({ name: 'TypeError' });
    expect((error.cause as Error).message).toContain('ShadowsWorkerData has a field `workerData`');
    const typed = makePool({ worker: 'typed-worker-data.ts', size: 1, workerData });
    expect(await typed.run('x')).toBe('redis://cache');
  });

  it('fails tasks submitted before a failed start with the same WorkerInitError', async () => {
    const pool = makePool({ worker: 'init-throws.ts' });
    const task = pool.run('x');
    await expect(task).rejects.toBeInstanceOf(WorkerInitError);
    await expect(pool.start()).rejects.toBeInstanceOf(WorkerInitError);
    // Later calls: the pool is stopped, and says why (before: a PoolStoppedError without a cause, though nobody stopped it).
    const failure = (await pool.start().catch((e: unknown) => e)) as WorkerInitError;
    for (const later of [pool.run('y'), pool.broadcast('z')]) {
      const error = (await later.catch((e: unknown) => e)) as PoolStoppedError;
      expect(error).toBeInstanceOf(PoolStoppedError);
      expect(error.cause).toBe(failure);
      expect(error.message).toBe(`The pool stopped: its start failed (${failure.message})`);
    }
  });

  it('a task running on a worker that was ready when another failed to start says the pool could not start (it said the worker was stopped)', async () => {
    // Worker 1 fails once the task runs on worker 0 (its gate file written then): no start timeout
    // to race with, whatever the machine's load.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-gate-'));
    try {
      const gate = path.join(dir, 'open');
      const pool = makePool({ worker: 'fail-init-on-gate.mjs', size: 2, workerData: { gate } });
      const task = pool.run(60_000, { onDispatch: () => writeFileSync(gate, '') }).catch((e: unknown) => e); // worker 0 takes it: worker 1 is not ready
      const started = pool.start().catch((e: unknown) => e);
      expect(await started).toMatchObject({ name: 'WorkerInitError', stage: 'initialize', worker: 1 });
      const error = (await task) as WorkerStoppedError;
      expect(error).toBeInstanceOf(WorkerStoppedError);
      expect(error.message).toMatch(/^Worker 0 \(pid \d+\) was killed: the pool could not start \(Worker 1 failed to start .*\)$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a worker process that ends before it ran looppool\'s code (a flag that runs something else) says where to look', async () => {
    const pool = makePool({ worker: 'echo.mjs', size: 1, execArgv: ['--version'], workerStdout: 'ignore' });
    const error = (await pool.start().catch((e: unknown) => e)) as WorkerInitError;
    expect(error).toMatchObject({ name: 'WorkerInitError', stage: 'exit' });
    expect(error.message).toMatch(/exited before it was ready \(exit code 0\); it never ran the worker's code: .*look at execArgv and the NODE_OPTIONS of env/);
  });

  it.each([
    ['import-throws-object.mjs', { name: 'NonError', message: 'bad config', code: 'E_CFG' }],
    ['import-throws-null-proto.mjs', { name: 'NonError', message: "[Object: null prototype] { code: 'E_BARE' }", code: 'E_BARE' }],
    ['import-throws-string.mjs', { name: 'NonError', message: 'config file missing' }],
  ])('rejects start() when %s throws a value that is not an Error: its cause is a NonError with its message and properties', async (file, cause) => {
    // Before: it was made an Error of String(value) while being imported: 'Error: [object Object]'
    // without its code, a TypeError "Cannot convert object to primitive value", an Error for the string.
    const pool = makePool({ worker: file, size: 1 });
    const error = (await pool.start().catch((e: unknown) => e)) as WorkerInitError;
    expect(error).toBeInstanceOf(WorkerInitError);
    expect(error.stage).toBe('load');
    expect(error.cause).toMatchObject(cause);
    expect(error.message).toContain(`NonError: ${cause.message}`);
  });

  it.each([
    // Before: taken for a task function, it failed every task ("Class constructor Worker cannot be invoked without 'new'").
    ['es5-constructor.mjs', /the default export of .*es5-constructor\.mjs is a function whose prototype inherits from Worker but that is not a class extending it: write it as `class Legacy extends Worker`/],
    // Before: "must export a Worker subclass or a task function as its default export (found object)".
    ['instance-default.mjs', /the default export of .*instance-default\.mjs is an instance of the Worker class Greeter: export the class, not an instance \(export default Greeter\)/],
    ['instance-default.cjs', /the default export of .*instance-default\.cjs is an instance of the Worker class Counter: export the class, not an instance \(module\.exports = Counter\)/],
    ['not-a-worker.mjs', /must export a Worker subclass or a task function.*number/],
    ['plain-class.mjs', /class that does not extend Worker/],
    ['named-only.mjs', /found no default export; it exports the Worker class Resizer by name: export it as the default \(export default class Resizer\)/],
    ['named-only.cjs', /found object; it exports the Worker class Thumbnailer by name: export it as the default \(module\.exports = Thumbnailer\)/],
    ['import-throws.mjs', /module top-level failure/],
    // Node 20's import() names neither file nor line of a syntax error: the worker finds them.
    ['syntax-error.mjs', /SyntaxError: Unexpected token ';' \(.*workers\/syntax-error\.mjs:3: return task \*;\)/],
    ['imports-bad-syntax.mjs', /SyntaxError: Unexpected token ';' \(.*workers\/helpers\/bad-syntax\.mjs:2: export const double = \(n\) => n \* 2 \+;\)/],
    // Before: node --check of the .ts worker itself failed on Node 20 (unknown extension), and Node's own file was named.
    ['ts-imports-bad-syntax.ts', /SyntaxError: Unexpected token ';' \(.*workers\/helpers\/bad-syntax\.mjs:2: export const double = \(n\) => n \* 2 \+;\)/],
  ])('rejects start() for %s, naming the module and the reason', async (file, reason) => {
    const pool = makePool({ worker: file, size: 1 });
    const error = (await pool.start().catch((e: unknown) => e)) as WorkerInitError;
    expect(error).toBeInstanceOf(WorkerInitError);
    expect(error.message).toContain(file);
    expect(error.message).toMatch(reason);
  });
});
