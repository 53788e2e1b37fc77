import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import * as Sentry from '@sentry/node';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerInitError, type LoopBlockedInfo } from 'looppool';
import { createReportAcks, type ReportAcks } from '../fixtures/watchdog/ack-writer.mjs';
import { fixture, makePool } from '../helpers/pools.ts';
import { commandLine, isAlive, niceOfThreads, waitFor } from '../helpers/processes.ts';
import { startSentryEndpoint, type SentryEndpoint } from '../helpers/sentry-endpoint.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
let endpoint: SentryEndpoint | undefined;
let acks: ReportAcks | undefined;
afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
  acks?.remove();
  acks = undefined;
});

/**
 * Environment for a pool of `spins.ts` workers whose blocks last until the test has seen their
 * report (fixtures/watchdog/acks.mjs); call `acks.ack()` once it has.
 */
function acknowledged(): NodeJS.ProcessEnv {
  acks = createReportAcks();
  return { ...process.env, ...acks.env };
}

describe('blocked-loop detector', () => {
  it('reports the stack of the function that blocks a worker, while it blocks', async () => {
    const pool = makePool({ worker: 'spins.ts', size: 1, blockedLoopThreshold: 300, env: acknowledged() });
    await pool.start();
    const pid = pool.stats().workers[0]?.pid;
    const reports: LoopBlockedInfo[] = [];
    let settled = false;
    let reportedWhileBlocked = false;
    pool.on('loopBlocked', (info) => {
      reports.push(info);
      reportedWhileBlocked ||= !settled;
      acks?.ack();
    });
    expect(await pool.run(1500).finally(() => (settled = true))).toBe('done');
    await waitFor(() => reports.length === 1, 'the blocked-loop report');
    const report = reports[0] as LoopBlockedInfo;
    expect(reportedWhileBlocked).toBe(true);
    expect(report).toMatchObject({ worker: 0, pid });
    expect(report.blockedMs).toBeGreaterThanOrEqual(300);
    const top = report.frames.find((f) => f.functionName === 'crunchNumbers');
    expect(top?.url).toMatch(/\/test\/fixtures\/workers\/spins\.ts$/);
    expect(top?.line).toBeGreaterThanOrEqual(13);
    expect(report.stack).toMatch(/at crunchNumbers \(.*spins\.ts:\d+:\d+\)/);
  });

  it("does not report a worker's start-up (a blocking initialize), only what blocks once it is ready", async () => {
    const pool = makePool({ worker: 'spins.ts', size: 1, blockedLoopThreshold: 200, workerData: { initBlockMs: 1000 }, env: acknowledged() });
    const reports: LoopBlockedInfo[] = [];
    pool.on('loopBlocked', (info) => {
      reports.push(info);
      acks?.ack();
    });
    await pool.start();
    expect(await pool.run(800)).toBe('done');
    await waitFor(() => reports.length >= 1, 'the blocked-loop report of the task');
    await new Promise((resolve) => setTimeout(resolve, 300)); // a late report of the start-up would show now
    expect(reports).toHaveLength(1);
    expect(reports[0]?.frames.map((f) => f.functionName)).toContain('crunchNumbers');
    expect(reports[0]?.frames.map((f) => f.functionName)).not.toContain('warmUpCaches');
  });

  it('logs the report to stderr when nobody listens', async () => {
    const pool = makePool({ worker: 'spins.ts', size: 1, blockedLoopThreshold: 200, env: acknowledged() });
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      written.push(String(chunk));
      if (String(chunk).includes('event loop blocked')) acks?.ack();
      return true;
    }) as typeof process.stderr.write;
    try {
      await pool.run(800);
      await waitFor(() => written.join('').includes('event loop blocked'), 'the log line');
    } finally {
      process.stderr.write = write;
    }
    expect(written.join('')).toMatch(/worker 0 \(pid \d+\) event loop blocked for \d+ ms at\n.*crunchNumbers/);
  });

  it('reports blocks, mapped to the source, in code whose source map is large (the watchdog thread has a small heap)', async () => {
    // A bundle of 8,000 functions with its 1.5 MB .map beside it: reading it whole ended the thread, out of memory.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-bigmap-'));
    try {
      const fns = Array.from({ length: 8000 }, (_, i) => `export function f${i}(a: number): number { return a * ${i} + Math.sqrt(a); }`);
      writeFileSync(path.join(dir, 'big.ts'), `${fns.join('\n')}\nexport function bigSpin(ms: number): number {\n  const end = Date.now() + ms;\n  let x = 0;\n  while (Date.now() < end) x += Math.sqrt(x + 1);\n  return x;\n}\n`);
      buildSync({ entryPoints: [path.join(dir, 'big.ts')], outfile: path.join(dir, 'big.mjs'), format: 'esm', sourcemap: true, logLevel: 'silent' });
      expect(statSync(path.join(dir, 'big.mjs.map')).size).toBeGreaterThan(1_000_000);
      writeFileSync(path.join(dir, 'worker.mjs'), "import { bigSpin } from './big.mjs';\nexport default (ms) => bigSpin(ms);\n");
      const pool = makePool({ worker: path.join(dir, 'worker.mjs'), size: 1, blockedLoopThreshold: 200 });
      const reports: LoopBlockedInfo[] = [];
      pool.on('loopBlocked', (info) => reports.push(info));
      for (let i = 0; i < 2; i++) await pool.run(1000);
      await waitFor(() => reports.length === 2, 'both blocks reported');
      for (const report of reports) {
        expect(report.frames[0]).toMatchObject({ functionName: 'bigSpin', url: pathToFileURL(path.join(dir, 'big.ts')).href });
        expect(report.frames[0]?.line).toBeGreaterThan(8000);
      }
      await pool.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is watching once start() resolves: a block in the first task is reported, on busy CPUs too', async () => {
    // Busy processes at normal priority: the watchdog thread boots at a lower one and, before, often
    // was not polling yet when the first task's block ended, which then went unreported.
    const hogs = os.availableParallelism() * 2;
    const busy = Array.from({ length: hogs }, () => spawn(process.execPath, ['-e', 'for(;;);'], { stdio: 'ignore' }));
    try {
      for (let round = 0; round < 5; round++) {
        const pool = makePool({ worker: 'spins.ts', size: 1, blockedLoopThreshold: 300 });
        const reports: LoopBlockedInfo[] = [];
        pool.on('loopBlocked', (info) => reports.push(info));
        await pool.start();
        expect(await pool.run(800)).toBe('done');
        await waitFor(() => reports.length === 1, `the block of round ${round + 1} reported`, 5_000);
        await pool.stop();
      }
    } finally {
      for (const child of busy) child.kill('SIGKILL');
    }
  });
});

describe('orphans', () => {
  /** Start a pool of two `blocks.ts` workers in a parent of its own (with `env`), both inside `for (;;);`. */
  async function blockedWorkers(env: NodeJS.ProcessEnv): Promise<{ parent: ReturnType<typeof spawn>; workers: number[] }> {
    const parent = spawn(process.execPath, [path.resolve(here, '../fixtures/parents/start-pool.mjs'), fixture('blocks.ts'), '"block"', '2'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env,
    });
    const workers = await new Promise<number[]>((resolve, reject) => {
      let out = '';
      parent.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0] as string) as number[]);
      });
      parent.on('exit', (code) => reject(new Error(`parent exited early (${code})`)));
    });
    return { parent, workers };
  }

  /** Busy processes, `perCpu` per CPU (at this process's nice value), until `stop()`. */
  function saturateCpus(perCpu: number): { stop(): Promise<void> } {
    const spinners = Array.from({ length: perCpu * os.availableParallelism() }, () =>
      spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' }),
    );
    // 'error' too: a process that failed to start never emits 'exit'.
    const exited = spinners.map((spinner) => new Promise((resolve) => spinner.once('exit', resolve).once('error', resolve)));
    return {
      async stop() {
        for (const spinner of spinners) spinner.kill('SIGKILL');
        await Promise.all(exited);
      },
    };
  }

  async function expectOrphansToExit(env: NodeJS.ProcessEnv): Promise<void> {
    const { parent, workers } = await blockedWorkers(env);
    try {
      // Both workers are now inside `for (;;);`: they can no longer see their pipe close.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(workers.every(isAlive)).toBe(true);
      process.kill(parent.pid as number, 'SIGKILL');
      await waitFor(() => workers.every((pid) => !isAlive(pid)), 'the blocked orphans to exit');
    } finally {
      // Should the test fail, no spinning worker or parent outlives it.
      for (const pid of [parent.pid as number, ...workers]) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  }

  // Where util-linux's setpriv is on PATH (Linux), the kernel ends the workers with their parent;
  // without it, each worker's watchdog thread does.
  it.each([
    ['by default', process.env],
    ['without setpriv on PATH (the watchdog thread watches the parent)', { ...process.env, PATH: '' }],
  ])('a worker whose event loop is blocked forever still exits when its parent is SIGKILLed, %s', async (_, env) => {
    await expectOrphansToExit(env);
  });

  // The watchdog's work matters most when the CPUs are busy; at the lowest priority (nice 19) its
  // boot waited for idle CPU, and with two busy processes per CPU the orphans here lived ~20 s.
  it('without setpriv, the orphans exit while every CPU is busy (the watchdog thread is not starved)', async () => {
    const load = saturateCpus(2);
    try {
      await expectOrphansToExit({ ...process.env, PATH: '' });
    } finally {
      await load.stop();
    }
  });

  // (Unless this process itself runs at nice 19: its workers' threads all would.)
  it.runIf(process.platform === 'linux' && existsSync('/usr/bin/setpriv') && os.getPriority() < 19)(
    'a worker runs its watchdog thread (the one thread 10 nice steps below the others) only when something needs it',
    async () => {
      const lower = Math.min(19, os.getPriority() + 10);
      const watchdogThreads = (pid: number) => [...niceOfThreads(pid).values()].filter((n) => n === lower).length;
      const plain = makePool({ worker: 'blocks.ts', size: 1 });
      const detecting = makePool({ worker: 'blocks.ts', size: 1, blockedLoopThreshold: 500 });
      await Promise.all([plain.start(), detecting.start()]);
      expect(watchdogThreads(plain.stats().workers[0]?.pid as number)).toBe(0); // the kernel watches the parent
      expect(watchdogThreads(detecting.stats().workers[0]?.pid as number)).toBe(1); // blocked-loop detection
      const { parent, workers } = await blockedWorkers({ ...process.env, PATH: '' });
      try {
        expect(workers.map(watchdogThreads)).toEqual([1, 1]); // no setpriv: the thread watches the parent
      } finally {
        process.kill(parent.pid as number, 'SIGKILL');
        await waitFor(() => workers.every((pid) => !isAlive(pid)), 'the workers to exit with their parent');
      }
    },
  );
});

describe('Sentry', () => {
  it('captures task errors in the worker with their tags; the DSN is never in argv, titles or the environment', async () => {
    endpoint = await startSentryEndpoint();
    const pool = makePool({ worker: 'throws.ts', size: 1, name: 'sentried', sentry: { dsn: endpoint.dsn, environment: 'test' } });
    await pool.start();
    const pid = pool.stats().workers[0]?.pid as number;
    const error = await pool.run('async').catch((e: unknown) => e);
    expect((error as Error).name).toBe('TaskError');
    const [event] = await endpoint.waitForEvents(1);
    expect(event?.tags).toMatchObject({ pool: 'sentried', worker: '0', pid: String(pid), taskId: '1' });
    expect(event?.environment).toBe('test');
    expect(event?.exception.values.at(-1)).toMatchObject({ type: 'QuotaError', value: 'quota exceeded (async)' });
    const key = new URL(endpoint.dsn).username;
    expect(commandLine(pid)).not.toContain(key);
    expect(readFileSync(`/proc/${pid}/environ`, 'utf8')).not.toContain(endpoint.dsn);
  });

  it('does not capture the reasons looppool aborted a task with (the caller\'s signal, the task\'s timeout, a stop)', async () => {
    endpoint = await startSentryEndpoint();
    const pool = makePool({ worker: 'throws.ts', size: 1, sentry: { dsn: endpoint.dsn } });
    const controller = new AbortController();
    const cancelled = pool.run('until-aborted', { signal: controller.signal, onDispatch: () => controller.abort() }).catch((e: unknown) => e);
    expect((await cancelled as Error).name).toBe('TaskAbortedError');
    expect((await pool.run('until-aborted', { timeout: 200 }).catch((e: unknown) => e) as Error).name).toBe('TaskTimeoutError');
    // A task that answers its timeout with an error of its own: the parent reports the timeout, the worker nothing.
    expect((await pool.run('gives-up', { timeout: 200 }).catch((e: unknown) => e) as Error).name).toBe('TaskTimeoutError');
    const stopped = pool.run('until-aborted').catch((e: unknown) => e);
    await pool.run('sync').catch(() => {});
    await pool.stop(); // at once: the worker aborts the waiting task, then flushes its events
    expect((await stopped as Error).name).toBe('WorkerStoppedError');
    // The worker's events were flushed before it exited; the parent's (it reports the timeout) may still be on their way.
    const events = await endpoint.waitForEvents(3);
    const types = (role: string) => events.filter((e) => e.tags?.role === role).map((e) => e.exception.values.at(-1).type);
    expect(types('worker')).toEqual(['QuotaError']);
    expect(types('parent')).toEqual(['TaskTimeoutError', 'TaskTimeoutError']);
  });

  it('captures a failed start once, with the worker\'s error as its cause, and not as a crash', async () => {
    endpoint = await startSentryEndpoint();
    const pool = makePool({ worker: 'init-throws.ts', size: 1, name: 'unstartable', sentry: { dsn: endpoint.dsn } });
    expect(await pool.start().catch((e: unknown) => e)).toBeInstanceOf(WorkerInitError);
    await pool.stop(); // the parent flushes
    const events = await endpoint.waitForEvents(1);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ level: 'error', tags: { pool: 'unstartable', worker: '0', role: 'parent' }, fingerprint: ['looppool', 'startFailed', 'unstartable', 'initialize'] });
    const values = events[0]?.exception.values as { type: string; value: string; mechanism?: { type: string } }[];
    expect(values.at(-1)).toMatchObject({ type: 'WorkerInitError', mechanism: { type: 'looppool.start' } });
    expect(values.some((v) => v.value === 'bad config')).toBe(true);
  });

  it('captures a start timeout as a failed start (stage timeout)', async () => {
    endpoint = await startSentryEndpoint();
    const pool = makePool({ worker: 'slow-init.ts', size: 1, name: 'slowstart', startTimeout: 1000, sentry: { dsn: endpoint.dsn } }); // initialize() takes a minute
    expect(await pool.start().catch((e: unknown) => e)).toMatchObject({ name: 'WorkerInitError', stage: 'timeout' });
    await pool.stop(); // the parent flushes
    const events = await endpoint.waitForEvents(1);
    expect(events[0]).toMatchObject({ tags: { pool: 'slowstart', role: 'parent' }, fingerprint: ['looppool', 'startFailed', 'slowstart', 'timeout'] });
  });

  it('captures a worker crash from the parent', async () => {
    endpoint = await startSentryEndpoint();
    const pool = makePool({ worker: 'crash.ts', size: 1, name: 'crashy', sentry: { dsn: endpoint.dsn } });
    await pool.run('exit').catch(() => {});
    const events = await endpoint.waitForEvents(1);
    const crash = events.find((e) => e.tags?.role === 'parent');
    expect(crash?.tags).toMatchObject({ pool: 'crashy', worker: '0' });
    expect(crash?.exception.values.at(-1)).toMatchObject({ type: 'WorkerCrashedError' });
  });

  it('each pool reports to its own Sentry: not to another pool\'s DSN, and nothing with sentry: false', async () => {
    endpoint = await startSentryEndpoint();
    const other = await startSentryEndpoint();
    try {
      const quiet = makePool({ worker: 'crash.ts', size: 1, name: 'quiet', retries: 0, sentry: false });
      const elsewhere = makePool({ worker: 'crash.ts', size: 1, name: 'elsewhere', retries: 0, sentry: { dsn: other.dsn, environment: 'other' } });
      const here = makePool({ worker: 'crash.ts', size: 1, name: 'here', retries: 0, sentry: { dsn: endpoint.dsn, environment: 'here' } });
      await Promise.all([quiet.start(), elsewhere.start(), here.start()]);
      for (const pool of [quiet, elsewhere, here]) await pool.run('exit').catch(() => {});
      await Promise.all([quiet.stop(), elsewhere.stop(), here.stop()]); // each flushes its own client
      const [mine, theirs] = [await endpoint.waitForEvents(1), await other.waitForEvents(1)];
      expect(mine.map((e) => [e.tags?.pool, e.environment])).toEqual([['here', 'here']]);
      expect(theirs.map((e) => [e.tags?.pool, e.environment])).toEqual([['elsewhere', 'other']]);
    } finally {
      await other.close();
    }
  });

  it('what the application puts on Sentry\'s global and isolation scopes stays out of looppool\'s events', async () => {
    endpoint = await startSentryEndpoint();
    const pool = makePool({ worker: 'sets-sentry-scope.ts', size: 1, name: 'shop', sentry: { dsn: endpoint.dsn } });
    expect(await pool.run({ card: '4111-1111-1111-1111' }).catch((e: unknown) => (e as Error).message)).toBe('declined');
    await pool.stop();
    const [event] = await endpoint.waitForEvents(1);
    expect(event?.tags).toEqual({ role: 'worker', pool: 'shop', worker: '0', pid: expect.any(String), taskId: '1' });
    expect(event?.level).toBe('error');
    expect(event?.user).toBeUndefined();
    expect(event?.extra).toBeUndefined();
    expect(event?.fingerprint).toBeUndefined();
    expect(event?.contexts?.order).toBeUndefined();
    expect(event?.contexts?.looppool).toMatchObject({ pool: 'shop', taskId: 1 });
    expect(endpoint.envelopes.some((e) => e.raw.includes('4111') || e.raw.includes('alice@'))).toBe(false);
  });

  it('tasks that fail with one and the same error object get an event each', async () => {
    endpoint = await startSentryEndpoint();
    const pool = makePool({ worker: 'shared-failure.ts', size: 1, sentry: { dsn: endpoint.dsn } });
    for (let i = 0; i < 3; i++) await expect(pool.run('x')).rejects.toMatchObject({ message: 'connection refused' });
    await pool.stop();
    const events = await endpoint.waitForEvents(3);
    expect(events.map((e) => e.tags?.taskId).sort()).toEqual(['1', '2', '3']);
  });

  it("an application's own Sentry and looppool's each get their event of the same error, whichever captured it first", async () => {
    endpoint = await startSentryEndpoint();
    const app = await startSentryEndpoint();
    const appScope = new Sentry.Scope();
    const appClient = new Sentry.NodeClient({ dsn: app.dsn, transport: Sentry.makeNodeTransport, stackParser: Sentry.defaultStackParser, integrations: [] });
    appScope.setClient(appClient);
    appClient.init();
    try {
      // In a worker, the application captures first (and rethrows): looppool's event still goes.
      const reports = makePool({ worker: 'shared-failure.ts', size: 1, name: 'reports', sentry: { dsn: endpoint.dsn }, workerData: { appDsn: app.dsn } });
      await expect(reports.run('x')).rejects.toMatchObject({ message: 'connection refused' });
      await reports.stop();
      expect((await app.waitForEvents(1))[0]?.exception.values.at(-1)).toMatchObject({ value: 'connection refused' });
      expect((await endpoint.waitForEvents(1))[0]).toMatchObject({ tags: { pool: 'reports', role: 'worker' } });
      // In the parent, looppool captures a timeout first: the application's capture of the error run() rejected with still goes.
      const slow = makePool({ worker: 'throws.ts', size: 1, name: 'slow', sentry: { dsn: endpoint.dsn } });
      const timeout = await slow.run('gives-up', { timeout: 200 }).catch((e: unknown) => e);
      expect(timeout).toMatchObject({ name: 'TaskTimeoutError' });
      await waitFor(() => endpoint?.events().some((e) => e.tags?.pool === 'slow' && e.tags?.role === 'parent') === true, "looppool's timeout event");
      appScope.captureException(timeout);
      await appClient.flush(2000);
      expect((await app.waitForEvents(2))[1]?.exception.values.at(-1)).toMatchObject({ type: 'TaskTimeoutError' });
      await slow.stop();
    } finally {
      await appClient.close(2000);
      await app.close();
    }
  });

  it("a worker's events carry the parent's environment and release, not those the pool's env option gives the workers", async () => {
    endpoint = await startSentryEndpoint();
    const env = { ...process.env, SENTRY_ENVIRONMENT: 'env-of-workers', SENTRY_RELEASE: 'release-of-workers' };
    const pool = makePool({ worker: 'throws.ts', size: 1, name: 'one-pool', env, sentry: { dsn: endpoint.dsn } });
    await pool.run('sync').catch(() => {});
    await pool.stop();
    const [event] = await endpoint.waitForEvents(1);
    expect(event?.tags?.role).toBe('worker');
    expect(event?.environment).toBe(process.env.SENTRY_ENVIRONMENT || 'production'); // the SDK's default when none is set
    expect(event?.release).toBe(process.env.SENTRY_RELEASE || undefined);
  });

  it("sends an error thrown by dispose() as the worker's error of origin 'dispose' (level error: the stop goes on)", async () => {
    endpoint = await startSentryEndpoint();
    const pool = makePool({ worker: 'dispose-throws.ts', size: 1, sentry: { dsn: endpoint.dsn } });
    const escaped = new Promise((resolve) => pool.once('workerError', (_error, info) => resolve(info)));
    expect(await pool.run(null)).toBe(1);
    await pool.stop();
    expect(await escaped).toMatchObject({ origin: 'dispose' });
    const [event] = await endpoint.waitForEvents(1);
    expect(event).toMatchObject({ level: 'error', tags: { role: 'worker' } });
    expect(event?.exception.values.at(-1)).toMatchObject({ value: 'could not close the database', mechanism: { type: 'looppool.dispose', handled: true } });
  });

  // The flush has its bound; past it, a request the server never answers must not keep a script alive.
  it('a Sentry that never answers: `await pool.stop()` returns and the script exits by itself', async () => {
    endpoint = await startSentryEndpoint({ hang: true });
    const script = path.resolve(here, '../fixtures/parents/hanging-sentry-stop.mjs');
    const parent = spawn(process.execPath, [script, fixture('crash.ts'), endpoint.dsn], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => parent.once('close', resolve));
    try {
      await waitFor(async () => parent.exitCode !== null || parent.signalCode !== null, 'the parent script to exit by itself', 30_000);
      expect(await exited).toBe(0);
      expect(out.split('\n').slice(1)).toEqual(['{"stopped":"stopped"}', '']);
      expect(endpoint.requests()).toBeGreaterThan(0); // the crash event went out, and got no answer
      const workers = JSON.parse(out.split('\n')[0] as string) as number[];
      expect(workers.some(isAlive)).toBe(false);
    } finally {
      if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
    }
  });

  it('flushes a worker\'s events before it exits on stop', async () => {
    endpoint = await startSentryEndpoint();
    const pool = makePool({ worker: 'throws.ts', size: 1, sentry: { dsn: endpoint.dsn } });
    await pool.run('sync').catch(() => {});
    await pool.stop(); // at once: the event is still in the worker's queue
    expect((await endpoint.waitForEvents(1))[0]?.exception.values.at(-1)).toMatchObject({ type: 'QuotaError' });
  });

  it('sends a blocked loop with the blocking stack', async () => {
    endpoint = await startSentryEndpoint();
    const pool = makePool({ worker: 'spins.ts', size: 1, blockedLoopThreshold: 300, sentry: { dsn: endpoint.dsn }, env: acknowledged() });
    pool.on('loopBlocked', () => acks?.ack());
    await pool.run(1000);
    const events = await endpoint.waitForEvents(1);
    const blocked = events.find((e) => e.exception?.values?.[0]?.type === 'LoopBlocked');
    const frames = blocked?.exception.values[0].stacktrace.frames as { function: string }[];
    expect(frames.map((f) => f.function)).toContain('crunchNumbers');
    expect(blocked?.contexts?.blockedLoop?.blockedMs).toBeGreaterThanOrEqual(300);
  });

  // A timeout's event shows a blocked loop's stack only when that block explains the timeout: it
  // was reported while the task was on the worker, or it still goes on (manual/monitoring.md, section 10).
  it('a timeout does not carry the stack of a block that was over before its task was sent', async () => {
    endpoint = await startSentryEndpoint();
    const pool = makePool({ worker: 'spins-or-waits.ts', size: 1, name: 'after-block', blockedLoopThreshold: 200, sentry: { dsn: endpoint.dsn }, env: acknowledged() });
    pool.on('loopBlocked', () => acks?.ack());
    expect(await pool.run(600)).toBe('done'); // it spins until its report is in
    const error = await pool.run({ wait: 3000 }, { timeout: 300 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TaskTimeoutError', phase: 'soft' });
    const timeout = await parentEvent(endpoint, '2');
    expect(timeout.fingerprint).toEqual(['looppool', 'taskTimeout', 'after-block']);
    expect(JSON.stringify(timeout.exception)).not.toContain('crunchNumbers');
  });

  it('a timeout of the task that blocks its worker carries the blocking stack', async () => {
    endpoint = await startSentryEndpoint();
    // Never acknowledged: the task spins until the timeout kills its worker, long after the report.
    const pool = makePool({ worker: 'spins-or-waits.ts', size: 1, blockedLoopThreshold: 200, timeoutGrace: 2000, sentry: { dsn: endpoint.dsn }, env: acknowledged() });
    const error = await pool.run(0, { timeout: 300 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TaskTimeoutError', phase: 'hard' });
    expectBlockingStack(await parentEvent(endpoint, '1'));
  });

  it('a timeout of a task sent to a worker that is still blocked carries the blocking stack', async () => {
    endpoint = await startSentryEndpoint();
    const pool = makePool({ worker: 'spins-or-waits.ts', size: 1, blockedLoopThreshold: 200, sentry: { dsn: endpoint.dsn }, env: acknowledged() });
    const reported = new Promise((resolve) => pool.once('loopBlocked', resolve));
    const blocking = pool.run(0).catch((e: unknown) => e); // never acknowledged: spins until its worker is killed
    await reported;
    const error = await pool.run({ wait: 3000 }, { timeout: 100 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TaskTimeoutError', phase: 'hard' });
    expect(await blocking).toMatchObject({ name: 'WorkerCrashedError' });
    expectBlockingStack(await parentEvent(endpoint, '2'));
  });
});

/** The parent's event about task `taskId`, once it has arrived. */
async function parentEvent(sentry: SentryEndpoint, taskId: string): Promise<Record<string, any>> {
  const find = () => sentry.events().find((e) => e.tags?.role === 'parent' && e.tags?.taskId === taskId);
  await waitFor(() => find() !== undefined, `the event of task ${taskId}`);
  return find() as Record<string, any>;
}

/** A TaskTimeoutError event shown with spins.ts's crunchNumbers as its stack, and grouped by it. */
function expectBlockingStack(event: Record<string, any>): void {
  const exception = event.exception.values[0];
  expect(exception.type).toBe('TaskTimeoutError');
  expect((exception.stacktrace.frames as { function: string }[]).map((f) => f.function)).toContain('crunchNumbers');
  expect(event.fingerprint).toContain('crunchNumbers');
  expect(event.contexts?.blockedLoop?.blockedMs).toBeGreaterThan(0);
}
