import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Pool } from 'looppool';
import { changingGetter, expectUnreadable, failureOf, throwingGetter } from '../helpers/getters.ts';
import { fixture } from '../helpers/pools.ts';
import { isAlive, waitFor } from '../helpers/processes.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

/** A parent running `pool.stopOnSignals()`; collects its JSON lines. */
function startParent(ms: number): { child: ChildProcess; lines: Record<string, unknown>[]; workers: () => number[] } {
  const child = spawn(process.execPath, [path.resolve(here, '../fixtures/parents/signals-parent.mjs'), fixture('safe-sleep.ts'), String(ms)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Record<string, unknown>[] = [];
  let pids: number[] = [];
  let buffer = '';
  child.stdout?.on('data', (d: Buffer) => {
    buffer += d.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const part of parts) {
      const value = JSON.parse(part) as unknown;
      if (Array.isArray(value)) pids = value as number[];
      else lines.push(value as Record<string, unknown>);
    }
  });
  return { child, lines, workers: () => pids };
}

const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

describe('a terminal that hangs up', () => {
  it("its workers' stop is still a stop: they exit 0, not in an abort", async () => {
    // Before: Node 20 restored the dead terminal's settings at each worker's exit, failed with EIO and
    // aborted: every worker's stop ended in SIGSEGV or SIGABRT, a crash to the pool (and to Sentry).
    const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-hangup-'));
    const out = path.join(dir, 'out');
    const shell = path.join(dir, 'run.sh');
    const script = path.resolve(here, '../fixtures/parents/stops-on-hangup.mjs');
    writeFileSync(shell, `trap '' HUP\nexec '${process.execPath}' '${script}' '${fixture('echo.mjs')}' '${out}'\n`);
    // exec: script's child is the parent process whatever $SHELL is (dash's `-c` would stay in between).
    const terminal = spawn('script', ['-q', '-c', `exec sh '${shell}'`, '/dev/null'], { detached: true, stdio: 'ignore' });
    let parent: number | undefined;
    try {
      await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').includes('ready'), 'the pool to start');
      parent = readFileSync(`/proc/${terminal.pid}/task/${terminal.pid}/children`, 'utf8').trim().split(' ').map(Number)[0];
      process.kill(terminal.pid as number, 'SIGKILL'); // the terminal hangs up
      process.kill(parent as number, 'SIGHUP'); // as a shell passes the hang-up on to its jobs
      await waitFor(() => readFileSync(out, 'utf8').includes('stopped'), 'the stop');
      const exits = readFileSync(out, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(exits).toHaveLength(2);
      for (const exit of exits) expect(exit).toMatchObject({ exitCode: 0, signal: null, reason: 'stop', expected: true });
    } finally {
      for (const pid of [parent ?? -1, terminal.pid ?? -1]) if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pool.stopOnSignals()', () => {
  it('the first SIGTERM drains: the running tasks finish, then the process exits by itself', async () => {
    const parent = startParent(1500);
    await waitFor(() => parent.workers().length === 2, 'the pool to start');
    await new Promise((resolve) => setTimeout(resolve, 200)); // the tasks are running
    parent.child.kill('SIGTERM');
    expect(await exited(parent.child)).toBe(0);
    expect(parent.lines[0]).toEqual({ signal: 'SIGTERM', count: 1 });
    expect(parent.lines.filter((l) => 'value' in l)).toHaveLength(4);
    expect(parent.workers().some(isAlive)).toBe(false);
  });

  it('a Ctrl-C to the whole process group while the workers still boot reaches the parent only: it drains, and start() does not fail', async () => {
    // Before: workers still booting (no handler yet) died of the SIGINT, and start() rejected with
    // WorkerInitError ("exited before it was ready (signal SIGINT)") while the parent drained.
    const app = spawn(process.execPath, [path.resolve(here, '../fixtures/parents/start-then-sigint.mjs'), 'ctrlc'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    let out = '';
    app.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    try {
      await waitFor(() => out.includes('STARTING'), 'the workers to be spawned');
      process.kill(-(app.pid as number), 'SIGINT'); // the group, as a terminal does
      const pids = (/STARTING ([\d ]+)/.exec(out)?.[1] ?? '').trim().split(' ').map(Number);
      expect(await exited(app)).toBe(0);
      expect(out).not.toContain('WorkerInitError');
      expect(out).toMatch(/STARTED|START FAILED PoolStoppedError/);
      expect(out).toContain('STOPPED stopped');
      expect(pids.every((pid) => pid > 0 && !isAlive(pid))).toBe(true);
    } finally {
      app.kill('SIGKILL');
    }
  });

  it('workers run in a process group of their own, so a signal to the parent\'s group does not reach them', async () => {
    const pool = new Pool({ worker: fixture('echo.ts'), size: 1 });
    try {
      await pool.start();
      const pid = pool.stats().workers[0]?.pid as number;
      const pgid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[2]);
      expect(pgid(pid)).toBe(pid); // the leader of its own group
      expect(pgid(pid)).not.toBe(pgid(process.pid));
    } finally {
      await pool.terminate();
    }
  });

  it('the second signal terminates: the running tasks are stopped at once', async () => {
    const parent = startParent(60_000);
    await waitFor(() => parent.workers().length === 2, 'the pool to start');
    await new Promise((resolve) => setTimeout(resolve, 200));
    parent.child.kill('SIGINT');
    await waitFor(() => parent.lines.length === 1, 'the first signal to be seen');
    parent.child.kill('SIGINT');
    expect(await exited(parent.child)).toBe(0);
    expect(parent.lines.slice(0, 2)).toEqual([{ signal: 'SIGINT', count: 1 }, { signal: 'SIGINT', count: 2 }]);
    expect(parent.lines.filter((l) => l.error === 'WorkerStoppedError')).toHaveLength(4);
    expect(parent.workers().some(isAlive)).toBe(false);
  });

  it.each([
    [{ timeout: -1 }, /Expected `timeout` to be a number of ms from 0 to 2147483647, or Infinity, got `-1`/],
    [{ timeout: 2 ** 31 }, /Expected `timeout`/],
    [{ signals: [] }, /Expected `signals` to be a non-empty array of signal names/],
    [{ signals: ['SIGFOO'] }, /Expected `signals`/],
    [{ signals: ['SIGKILL'] }, /Expected `signals`/],
    [{ onSignal: 'log' }, /Expected `onSignal` to be a function/],
    [{ timout: 5 }, /Unknown option `timout`/],
    [{ signals: ['SIGINT', 'SIGTERM', 'SIGINT'] }, /Expected `signals` to name each signal once, got 'SIGINT' twice/],
  ])('bad options throw a TypeError at once and install no handler: %o', (options, message) => {
    const pool = new Pool({ worker: fixture('echo.ts'), size: 1 }); // never started: no process
    const before = process.listenerCount('SIGINT') + process.listenerCount('SIGTERM');
    expect(() => pool.stopOnSignals(options as never)).toThrow(TypeError);
    expect(() => pool.stopOnSignals(options as never)).toThrow(message);
    expect(process.listenerCount('SIGINT') + process.listenerCount('SIGTERM')).toBe(before);
  });

  // Before: the getter's own error surfaced, naming no option; and `onSignal` was read again at
  // each signal: the callback checked was not the one called.
  it('reads each option once: a getter that throws is a TypeError naming it; the onSignal checked is the one called', async () => {
    const pool = new Pool({ worker: fixture('echo.ts'), size: 1 }); // never started: no process
    const cause = new Error('config not loaded');
    const before = process.listeners('SIGINT');
    expectUnreadable(await failureOf(() => pool.stopOnSignals(throwingGetter({}, 'signals', cause))), 'signals', cause);
    expect(process.listeners('SIGINT')).toEqual(before);
    const heard: string[] = [];
    const onSignal = changingGetter({ signals: ['SIGINT'] as NodeJS.Signals[] }, 'onSignal', [() => heard.push('checked'), () => heard.push('other')]);
    pool.stopOnSignals(onSignal.options);
    const added = process.listeners('SIGINT').filter((listener) => !before.includes(listener));
    expect(added).toHaveLength(1);
    (added[0] as (signal: NodeJS.Signals) => void)('SIGINT'); // as a Ctrl-C would, without sending one to the test runner
    expect(heard).toEqual(['checked']);
    expect(onSignal.reads()).toBe(1);
    await waitFor(() => pool.state === 'stopped', 'the pool to stop');
    expect(process.listeners('SIGINT')).toEqual(before);
  });

  it('the remover takes away the handlers it installed, even once the caller has changed its list', () => {
    const pool = new Pool({ worker: fixture('echo.ts'), size: 1 }); // never started: no process
    const before: [number, number] = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
    const remove = pool.stopOnSignals({ signals });
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual([before[0] + 1, before[1] + 1]);
    signals.length = 0;
    remove();
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
  });

  it('stopOnSignals() on many pools adds one listener per signal, which stops every pool', async () => {
    // Before: a listener per pool per signal: from the eleventh pool Node warned of a leak
    // (MaxListenersExceededWarning) in an application that runs a pool per job.
    const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
    const pools = Array.from({ length: 12 }, () => new Pool({ worker: fixture('echo.ts'), size: 1 })); // never started: no process
    const heard: number[] = [];
    pools.forEach((pool, i) => pool.stopOnSignals({ onSignal: () => heard.push(i) }));
    const added = process.listeners('SIGINT').filter((listener) => !before.SIGINT.includes(listener));
    expect(added).toHaveLength(1);
    expect(process.listenerCount('SIGTERM')).toBe(before.SIGTERM.length + 1);
    (added[0] as (signal: NodeJS.Signals) => void)('SIGINT'); // as a Ctrl-C would, without sending one to the test runner
    expect(heard).toEqual(pools.map((_, i) => i));
    await waitFor(() => pools.every((pool) => pool.state === 'stopped'), 'every pool to stop');
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual([before.SIGINT.length, before.SIGTERM.length]);
  });

  it('a pool that has stopped takes its handlers away itself (a later signal does what it would without it)', async () => {
    // Before: they stayed until the remover was called; each kept its stopped pool alive, the 11th
    // pool made Node warn of a leak, and a Ctrl-C once every pool had stopped no longer ended the process.
    const count = (): [number, number] => [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const before = count();
    for (const how of ['stop', 'terminate', 'never started'] as const) {
      const pool = new Pool({ worker: fixture('echo.ts'), size: 1 });
      const remove = pool.stopOnSignals();
      expect(count(), how).toEqual([before[0] + 1, before[1] + 1]);
      if (how !== 'never started') await pool.start();
      await (how === 'terminate' ? pool.terminate() : pool.stop());
      expect(count(), how).toEqual(before);
      remove(); // still harmless
      expect(count(), how).toEqual(before);
      expect(pool.stopOnSignals(), how).toBeTypeOf('function'); // on a stopped pool: removed at once
      expect(count(), how).toEqual(before);
    }
  });
});
