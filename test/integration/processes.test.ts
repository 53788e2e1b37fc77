import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import type { Pool } from 'looppool';
import { readProcessTable } from '../../src/cli/proc/process-table.ts';
import { deathSignalLauncher } from '../../src/parent/death-signal.ts';
import { fixture, makePool } from '../helpers/pools.ts';
import { isAlive, waitFor } from '../helpers/processes.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Start a parent process running a pool; resolves with the parent and its worker pids. */
async function startParent(args: string[]): Promise<{ parentPid: number; workers: number[] }> {
  const child = spawn(process.execPath, [path.resolve(here, '../fixtures/parents/start-pool.mjs'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0] as string);
    });
    child.on('exit', (code) => reject(new Error(`parent exited early (${code})`)));
  });
  return { parentPid: child.pid as number, workers: JSON.parse(line) as number[] };
}

describe('process hygiene', () => {
  it('workers ignore SIGINT and SIGTERM: shutdown is by message', async () => {
    const pool = makePool({ worker: 'sleep.ts', size: 1 });
    await pool.start();
    const pid = pool.stats().workers[0]?.pid as number;
    const task = pool.run({ ms: 300, value: 'survived' });
    await waitFor(() => pool.stats().inFlight === 1, 'the task to run');
    process.kill(pid, 'SIGINT');
    process.kill(pid, 'SIGTERM');
    expect((await task).value).toBe('survived');
    expect(pool.stats().workers[0]?.pid).toBe(pid);
    expect(pool.stats().restarts).toBe(0);
  });

  it('workers exit when their parent is killed with SIGKILL', async () => {
    const { parentPid, workers } = await startParent([fixture('echo.mjs')]);
    expect(workers.every(isAlive)).toBe(true);
    process.kill(parentPid, 'SIGKILL');
    await waitFor(() => workers.every((pid) => !isAlive(pid)), 'the orphaned workers to exit');
  });

  // A worker leads a process group of its own, and what it starts is in it (src/parent/process-group.ts).
  it.each([
    ['its stop', async (pool: Pool) => pool.stop()],
    ['its crash', async (pool: Pool) => expect(pool.run('exit', { worker: 0 })).rejects.toMatchObject({ code: 'ERR_WORKER_CRASHED' })],
    ['a hard timeout', async (pool: Pool) => expect(pool.run('spin', { worker: 0, timeout: 200 })).rejects.toMatchObject({ code: 'ERR_TASK_TIMEOUT', phase: 'hard' })],
    ['terminate()', async (pool: Pool) => {
      const spinning = pool.run('spin', { worker: 0 }).catch((err: unknown) => err);
      await waitFor(() => pool.stats().inFlight === 1, 'the task to run');
      await pool.terminate();
      expect(await spinning).toMatchObject({ code: 'ERR_WORKER_STOPPED' });
    }],
  ] as const)('a process a worker started and left running ends with the worker, at %s', async (_, end) => {
    const pool = makePool({ worker: 'starts-process.ts', size: 1, retries: 0, timeoutGrace: 100 });
    const pid: number = await pool.run('start', { worker: 0 });
    const worker = pool.stats().workers[0]?.pid as number;
    expect(isAlive(pid)).toBe(true);
    try {
      await end(pool);
      await waitFor(() => !isAlive(worker), 'the worker to exit');
      await waitFor(() => !isAlive(pid), 'the process it started to end');
    } finally {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it.each(['exit', 'throw'])('a parent that ends with its pool running (%s) takes its workers and what they started', async (how) => {
    const parent = spawn(process.execPath, [path.resolve(here, '../fixtures/parents/exits-with-workers.mjs'), how], { stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise((resolve) => parent.once('exit', resolve));
    let out = '';
    parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('\n'), 'the parent to start its pool');
    const { workers, started } = JSON.parse(out) as { workers: number[]; started: number[] };
    try {
      expect(started).toHaveLength(2); // running then (without the exit listener, they outlive the parent)
      expect(await exited).toBe(how === 'exit' ? 0 : 1);
      await waitFor(() => [...workers, ...started].every((pid) => !isAlive(pid)), 'the workers and what they started to end');
    } finally {
      for (const pid of [parent.pid as number, ...workers, ...started]) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  // Its 'exit' listeners never run: the workers ended with it (the kernel's parent-death signal),
  // and what they had started ran on, owned by nobody, until a sentinel was given their groups.
  it('a parent killed by SIGKILL takes its workers, and what they started is killed by its sentinel', async () => {
    const parent = spawn(process.execPath, [path.resolve(here, '../fixtures/parents/exits-with-workers.mjs'), 'wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('\n'), 'the parent to start its pool');
    const { workers, started } = JSON.parse(out) as { workers: number[]; started: number[] };
    const sentinels = (): number[] => readProcessTable().filter((p) => p.ppid === parent.pid && p.command.startsWith('/bin/sh -c trap')).map((p) => p.pid);
    try {
      expect(started).toHaveLength(2);
      await waitFor(() => sentinels().length === 1, 'the sentinel, once a worker started a process');
      const [sentinel] = sentinels();
      process.kill(parent.pid as number, 'SIGKILL');
      await waitFor(() => [...workers, ...started, sentinel as number].every((pid) => !isAlive(pid)), 'the workers, what they started and the sentinel to end');
    } finally {
      for (const pid of [parent.pid as number, ...workers, ...started]) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('the sentinel is there only while a worker that started a process runs', async () => {
    const sentinels = (): number[] => readProcessTable().filter((p) => p.ppid === process.pid && p.command.startsWith('/bin/sh -c trap')).map((p) => p.pid);
    const pool = makePool({ worker: 'starts-process.ts', size: 1 });
    await pool.start();
    // No sentinel: a worker that started nothing needs none (one of an earlier test may still be exiting).
    await waitFor(() => sentinels().length === 0, 'no sentinel before a worker starts a process');
    const started: number = await pool.run('start');
    try {
      await waitFor(() => sentinels().length === 1, 'the sentinel');
      await pool.stop();
      await waitFor(() => sentinels().length === 0 && !isAlive(started), 'the sentinel to exit, and what the worker started to be killed');
    } finally {
      if (isAlive(started)) process.kill(started, 'SIGKILL');
    }
  });

  // stop() resolved while the shell was still reading the end of its input (8 stops in 10): a
  // child process left for whoever checks right after it, and a zombie for good in a worker
  // thread that ended then (only the thread that started a process reaps it).
  it('stop() resolves once the sentinel has exited too: no process of the pool is left when it does', async () => {
    const sentinels = (): number[] => readProcessTable().filter((p) => p.ppid === process.pid && p.command.startsWith('/bin/sh -c trap')).map((p) => p.pid);
    await waitFor(() => sentinels().length === 0, 'no sentinel before the pools start (one of an earlier test may still be exiting)');
    for (let i = 0; i < 3; i++) {
      const pool = makePool({ worker: 'starts-process.ts', size: 1 });
      const started: number = await pool.run('start');
      try {
        await waitFor(() => sentinels().length === 1, 'the sentinel');
        await pool.stop();
        expect(sentinels()).toEqual([]);
        // SIGKILLed as its worker exited: the signal is sent, its delivery may take a moment on a loaded machine.
        await waitFor(() => !isAlive(started), 'the process the worker started to be killed');
      } finally {
        if (isAlive(started)) process.kill(started, 'SIGKILL');
      }
    }
  });

  // A sentinel killed by someone was replaced only when a worker handed over its first process:
  // the workers that had, every one once the pool ran a while, were left unguarded for good.
  it('a sentinel killed by someone is replaced at once', async () => {
    const sentinels = (): number[] => readProcessTable().filter((p) => p.ppid === process.pid && p.command.startsWith('/bin/sh -c trap')).map((p) => p.pid);
    const pool = makePool({ worker: 'starts-process.ts', size: 1 });
    const started: number = await pool.run('start');
    try {
      await waitFor(() => sentinels().length === 1, 'the sentinel');
      const [first] = sentinels();
      await new Promise((resolve) => setTimeout(resolve, 1100)); // one that ends at once is not restarted in a loop
      process.kill(first as number, 'SIGKILL');
      await waitFor(() => sentinels().length === 1 && sentinels()[0] !== first, 'a new sentinel');
      await pool.stop();
      await waitFor(() => sentinels().length === 0 && !isAlive(started), 'the sentinel to exit, and what the worker started to be killed');
    } finally {
      if (isAlive(started)) process.kill(started, 'SIGKILL');
    }
  });

  it('a process a worker started in a group of its own (detached) is left running', async () => {
    const pool = makePool({ worker: 'starts-process.ts', size: 1 });
    const pid: number = await pool.run('start-detached');
    const worker = pool.stats().workers[0]?.pid as number;
    try {
      await pool.stop();
      await waitFor(() => !isAlive(worker), 'the worker to exit');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(isAlive(pid)).toBe(true);
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });

  // The default is the parent's environment; `env` replaces it whole, and an undefined value
  // leaves a variable out (manual/performance.md, section 9: NODE_EXTRA_CA_CERTS).
  it('workers get the parent\'s environment, or exactly the one given in `env`', async () => {
    process.env['LOOPPOOL_TEST_INHERITED'] = 'inherited';
    try {
      const names = ['LOOPPOOL_TEST_INHERITED', 'LOOPPOOL_TEST_GIVEN', 'PATH'];
      const inherited = makePool({ worker: 'env.mjs', size: 1 });
      const given = makePool({ worker: 'env.mjs', size: 1, env: { ...process.env, LOOPPOOL_TEST_GIVEN: 'given', LOOPPOOL_TEST_INHERITED: undefined } });
      expect(await inherited.run(names)).toEqual({ LOOPPOOL_TEST_INHERITED: 'inherited', LOOPPOOL_TEST_GIVEN: null, PATH: process.env['PATH'] });
      expect(await given.run(names)).toEqual({ LOOPPOOL_TEST_INHERITED: null, LOOPPOOL_TEST_GIVEN: 'given', PATH: process.env['PATH'] });
    } finally {
      delete process.env['LOOPPOOL_TEST_INHERITED'];
    }
  });

  it('the variables a worker is started with for `looppool ps` are not in its own environment', async () => {
    const pool = makePool({ worker: 'env.mjs', size: 1 });
    expect(await pool.run(['LOOPPOOL_PARENT_PID', 'LOOPPOOL_WORKER_TITLE'])).toEqual({ LOOPPOOL_PARENT_PID: null, LOOPPOOL_WORKER_TITLE: null });
  });

  // NODE_OPTIONS=--inspect (a debugger on the application) made every worker try to bind the
  // parent's port too: a line on stderr at each start, or with --inspect-brk=0 workers that each
  // waited for a debugger until startTimeout.
  it("workers inherit NODE_OPTIONS without the inspector's flags, as they inherit the parent's flags", async () => {
    const before = process.env['NODE_OPTIONS'];
    process.env['NODE_OPTIONS'] = '--inspect=0 --max-old-space-size=300';
    try {
      const pool = makePool({ worker: 'env.mjs', size: 1 });
      expect(await pool.run(['NODE_OPTIONS'])).toEqual({ NODE_OPTIONS: '--max-old-space-size=300' });
    } finally {
      if (before === undefined) delete process.env['NODE_OPTIONS'];
      else process.env['NODE_OPTIONS'] = before;
    }
  });

  it('stats() is a plain snapshot of the queue, the counters and each worker', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 2 });
    await pool.start();
    await Promise.all([1, 2, 3, 4].map((i) => pool.run(i)));
    const stats = pool.stats();
    expect(stats).toMatchObject({ state: 'running', size: 2, queued: 0, inFlight: 0, done: 4, failed: 0, restarts: 0 });
    expect(stats.workers.map((w) => [w.worker, w.state])).toEqual([[0, 'ready'], [1, 'ready']]);
    expect(stats.workers.reduce((n, w) => n + w.done, 0)).toBe(4);
    expect(JSON.parse(JSON.stringify(stats))).toEqual(stats);
  });

  it('stats() names each worker\'s state before the start, while a replacement is due and once the pool stopped', async () => {
    const pool = makePool({ worker: 'crash.ts', size: 2, retries: 0 });
    expect(pool.stats().workers.map((w) => [w.state, w.pid])).toEqual([['starting', -1], ['starting', -1]]);
    await pool.start();
    const pids = pool.stats().workers.map((w) => w.pid);
    const exited = new Promise<void>((resolve) => pool.once('workerExit', () => resolve()));
    await expect(pool.run('exit', { worker: 0 })).rejects.toMatchObject({ code: 'ERR_WORKER_CRASHED' });
    await exited;
    // Between the exit and the replacement's spawn (a timer, even at no backoff): respawning.
    expect(pool.stats().workers[0]).toMatchObject({ state: 'respawning', pid: -1 });
    await waitFor(() => pool.stats().workers[0]?.state === 'ready', 'the replacement');
    const live = pool.stats().workers.map((w) => w.pid);
    expect(live[0]).not.toBe(pids[0]);
    await pool.run('x', { worker: 1 });
    await pool.stop();
    // A stopped pool's workers exited: their last pids and counts, not a replacement to come.
    expect(pool.stats().workers).toEqual([
      { worker: 0, pid: live[0], state: 'exited', inFlight: 0, done: 0, failed: 0 },
      { worker: 1, pid: live[1], state: 'exited', inFlight: 0, done: 1, failed: 0 },
    ]);
  });
});

describe('worker footprint', () => {
  // Each built-in module costs a worker's start about 1 ms of CPU (manual/performance-notes.md, E): a
  // worker loads none that it does not use. An ES import of a built-in would load it, and for
  // node:net would also run its lazy getters (internal/blocklist).
  it('a JavaScript worker without metrics has not loaded perf_hooks, module, child_process, v8 or net\'s lazy exports', async () => {
    const pool = makePool({ worker: 'loaded-modules.mjs', size: 1 });
    const loaded = (await pool.run(null)) as string[];
    expect(loaded).toContain('NativeModule net'); // the list is real: the data pipe is a net.Socket
    // A worker has no Node IPC channel (its setup loads child_process and its serializers), and
    // loads node:v8 only for a value JSON cannot carry (the init of a pool without workerData is JSON).
    const unused = ['NativeModule perf_hooks', 'NativeModule internal/perf/performance', 'NativeModule module', 'NativeModule internal/blocklist', 'NativeModule child_process', 'NativeModule internal/child_process', 'NativeModule v8'];
    // The watchdog thread's code is imported only when a thread starts: with setpriv, none does.
    if (deathSignalLauncher()) unused.push('NativeModule inspector', 'NativeModule worker_threads');
    // What a bare ES module child loads anyway (another Node may load more).
    const bare = await bareChildModules();
    expect(bare).not.toContain('NativeModule child_process');
    expect(loaded.filter((name) => unused.includes(name) && !bare.includes(name))).toEqual([]);
  });

  // `looppool/worker` is the worker's entry file itself (src/child/main.ts): a worker module's
  // import of it finds it loaded, and a process that merely imports it starts no worker.
  it('a worker module\'s looppool/worker is the file the worker process runs as its entry', async () => {
    const pool = makePool({ worker: 'entry-url.mjs', size: 1 });
    const { workerApi, entry } = (await pool.run(null)) as { workerApi: string; entry: string };
    expect(entry).toMatch(/\/dist\/child\/main\.js$/);
    expect(workerApi).toBe(entry);
  });

  // With --preserve-symlinks the pool's copy of the entry, reached through a link, and the copy
  // a worker module reaches through the real path are two modules of one file: one worker starts.
  it('a worker starts once when its module loads the entry again through another path (--preserve-symlinks)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-linked-'));
    try {
      const linked = path.join(dir, 'looppool');
      symlinkSync(path.resolve(here, '../..'), linked);
      const parent = path.resolve(here, '../fixtures/parents/linked-pool.mjs');
      const args = ['--preserve-symlinks', '--preserve-symlinks-main', parent, linked, fixture('echo.mjs')];
      const { status, stdout, stderr } = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 30_000 });
      expect(stderr).toBe('');
      expect(status).toBe(0);
      expect(JSON.parse(stdout)).toBe('through the link');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // A bundler that turns looppool/worker into CommonJS leaves it no import.meta.url.
  it('looppool/worker bundled into a CommonJS file loads, gives its API and starts no worker', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-bundled-'));
    try {
      const entry = path.join(dir, 'app.mjs');
      writeFileSync(entry, "import { Worker } from 'looppool/worker';\nconsole.log(JSON.stringify({ worker: typeof Worker, net: process.moduleLoadList.includes('NativeModule net'), signals: process.listenerCount('SIGTERM') }));\n");
      const bundle = path.join(dir, 'app.cjs');
      await build({ entryPoints: [entry], outfile: bundle, bundle: true, format: 'cjs', platform: 'node', logLevel: 'silent', alias: { 'looppool/worker': path.resolve(here, '../../dist/child/main.js') } });
      const { status, stdout, stderr } = spawnSync(process.execPath, [bundle], { encoding: 'utf8', timeout: 30_000 });
      expect(stderr).toBe('');
      expect(status).toBe(0);
      expect(JSON.parse(stdout)).toEqual({ worker: 'function', net: false, signals: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a process that imports looppool/worker gets its API and starts no worker', async () => {
    // A script file, so that argv[1] names a file: only its path keeps the entry from starting.
    const script = path.resolve(here, '../fixtures/parents/worker-api.mjs');
    const { exports, loaded, signals } = await jsonPrintedBy<{ exports: string[]; loaded: string[]; signals: number }>([script]);
    expect(exports).toEqual(['PoolError', 'ResourceReporter', 'ResultClosedError', 'SafeWorker', 'SerializationError', 'Worker', 'WorkerNotInPoolError', 'WorkerStoppedError', 'createStatsd', 'whenIdle', 'yieldToLoop']);
    // A worker's start sets its SIGINT and SIGTERM listeners at once, and soon after opens its
    // data channel (a net.Socket on fd 3).
    expect(signals).toBe(0);
    expect(loaded).not.toContain('NativeModule net');
  });

  // The same for the pool's own process: what `import 'looppool'` and a plain pool load of Node's
  // built-ins is what every pool needs; the rest comes with the features that use it.
  // node:v8 carries values JSON cannot; a pool without workerData sends none and checks none.
  it('a process running a plain pool has not loaded perf_hooks, module, os, v8, or net\'s or fs\'s lazy exports', async () => {
    const worker = JSON.stringify(path.resolve(here, '../fixtures/workers/echo.mjs'));
    // (From `node -e`: the workers must not run the script again; test/integration/limits.test.ts.)
    const script = `if (process.env.LOOPPOOL_EVAL_GUARD === 'inside') process.exit(3);
      process.env.LOOPPOOL_EVAL_GUARD = 'inside';
      const { Pool } = await import('looppool');
      const pool = new Pool({ worker: ${worker}, size: 1 });
      await pool.run(1);
      await pool.stop();
      process.stdout.write(JSON.stringify(process.moduleLoadList));`;
    const loaded = await jsonPrintedBy(['--input-type=module', '-e', script]);
    expect(loaded).toContain('NativeModule child_process'); // the list is real: the pool spawned its worker
    const unused = ['NativeModule perf_hooks', 'NativeModule internal/perf/performance', 'NativeModule module', 'NativeModule os', 'NativeModule v8', 'NativeModule internal/blocklist', 'NativeModule internal/fs/streams'];
    const bare = await bareChildModules();
    expect(loaded.filter((name) => unused.includes(name) && !bare.includes(name))).toEqual([]);
  });

  // fd 3 is the data channel; fd 4 carries the watchdog thread's reports: a worker that runs no
  // thread gets no such pipe (nor does the parent hold its other end). The kernel's death signal
  // (setpriv) replaces the thread unless blocked loops are to be reported. No Node IPC channel.
  it('a worker has the data channel on fd 3, no IPC channel, and the report pipe (fd 4) only when it runs a watchdog thread', async () => {
    const plain = makePool({ worker: 'open-fds.mjs', size: 1 });
    const reporting = makePool({ worker: 'open-fds.mjs', size: 1, blockedLoopThreshold: 500 });
    const [plainFds, reportingFds] = (await Promise.all([plain.run(null), reporting.run(null)])) as Record<string, string>[];
    expect(plainFds?.['3']).toMatch(/^socket:/); // the data channel: the list is real
    // Without the pipe Node reuses the number for something of its own (its epoll descriptor).
    expect(/^socket:/.test(plainFds?.['4'] ?? '')).toBe(deathSignalLauncher() === undefined);
    expect(reportingFds?.['4']).toMatch(/^socket:/);
    // Sockets past stdio: the data channel, and the report pipe when there is one; nothing else.
    const sockets = (fds: Record<string, string> | undefined): number =>
      Object.entries(fds ?? {}).filter(([fd, target]) => Number(fd) > 2 && target.startsWith('socket:')).length;
    expect(sockets(plainFds)).toBe(deathSignalLauncher() === undefined ? 2 : 1);
    expect(sockets(reportingFds)).toBe(2);
  });
});

/** `process.moduleLoadList` of a child that is an empty ES module. */
function bareChildModules(): Promise<string[]> {
  return jsonPrintedBy(['--input-type=module', '-e', 'process.stdout.write(JSON.stringify(process.moduleLoadList))']);
}

/** What `node <args>` prints on its stdout, parsed as JSON (run from the repository's root). */
async function jsonPrintedBy<T = string[]>(args: string[]): Promise<T> {
  const child = spawn(process.execPath, args, { cwd: path.resolve(here, '../..'), stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  await new Promise((resolve) => child.once('close', resolve));
  return JSON.parse(out) as T;
}

describe("a worker's stdout and stderr", () => {
  /** The number of 'x' a parent running prints-then-stops.mjs got on `from`, its stdout or stderr. */
  async function printed(task: object, workerStdout: string, from: 'stdout' | 'stderr'): Promise<number> {
    const parent = spawn(process.execPath, [path.resolve(here, '../fixtures/parents/prints-then-stops.mjs'), JSON.stringify(task), workerStdout], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let count = 0;
    parent[from].on('data', (d: Buffer) => {
      for (const byte of d) if (byte === 0x78) count++;
    });
    parent[from === 'stdout' ? 'stderr' : 'stdout'].resume();
    const code = await new Promise((resolve) => parent.on('close', resolve));
    expect(code).toBe(0);
    return count;
  }

  // Writes to a pipe are asynchronous on Linux: what the pipe could not take at once waited in
  // the worker, and its exit dropped it (all but ~128-192 KiB of 4 MiB).
  const bytes = 4 * 1024 * 1024;
  const xs = bytes - bytes / (64 * 1024); // one newline per 64 KiB line

  it('what a worker wrote to a pipe just before its stop reaches the reader whole, on stdout and on stderr', { timeout: 30_000 }, async () => {
    expect(await printed({ bytes, stream: 'stdout' }, 'inherit', 'stdout')).toBe(xs);
    expect(await printed({ bytes, stream: 'stderr' }, 'inherit', 'stderr')).toBe(xs);
    expect(await printed({ bytes, stream: 'stdout' }, 'stderr', 'stderr')).toBe(xs);
  });

  it('what a worker wrote to a pipe just before an error ended it reaches the reader whole', { timeout: 30_000 }, async () => {
    expect(await printed({ bytes, stream: 'stdout', escape: true }, 'inherit', 'stdout')).toBe(xs);
  });
});
