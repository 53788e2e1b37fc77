/**
 * `looppool ps`, `top` and `stop` against pools started by the test: found from process titles,
 * measured, shown live in a real terminal (tmux), stopped gracefully or killed as a tree.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { listControlSockets } from '../../src/control/index.ts';
import { readProcess } from '../../src/cli/proc/process-table.ts';
import { isAlive, waitFor } from '../helpers/processes.ts';
import { BIN, expectNoPoolLeft, fixture, runCli, sleepTasks, startCli, uniqueName, waitForControl, workerPids, type CliProcess } from './helpers.ts';

/** A pool of two SafeWorkers busy with long tasks, stdin left open. */
async function startBusyPool(name: string, workersOfThatName = 2): Promise<CliProcess> {
  const cli = startCli(['run', fixture('sleep.mjs'), '--size', '2', '--concurrency', '2', '--name', name], {
    input: sleepTasks(4, 600_000),
    keepStdinOpen: true,
    detached: true,
  });
  await waitFor(() => workerPids(name).length === workersOfThatName, `${workersOfThatName} workers named ${name}`);
  await cli.waitForStderr(/^/); // started (stderr may stay empty: stderr is not a terminal)
  return cli;
}

describe('looppool ps', () => {
  it('finds a running pool as a tree, with pids, CPU, RSS and uptime (--json)', async () => {
    const name = uniqueName('ps');
    const cli = await startBusyPool(name);
    await waitFor(async () => {
      const run = await runCli(['ps', '--json']);
      const pool = JSON.parse(run.stdout).find((p: { name: string }) => p.name === name);
      return pool?.control !== null && pool !== undefined;
    }, 'the pool and its control socket to show in ps');
    const run = await runCli(['ps', '--json']);
    expect(run.code).toBe(0);
    const pool = JSON.parse(run.stdout).find((p: { name: string }) => p.name === name);
    expect(pool).toMatchObject({ name, pid: cli.pid, cli: true, orphaned: false, command: `looppool ${name}`, uid: process.getuid?.() });
    expect(pool.control).toMatch(new RegExp(`${cli.pid}@${name}\\.sock$`));
    expect(pool.workers.map((w: { worker: number }) => w.worker)).toEqual([0, 1]);
    expect(pool.workers.map((w: { pid: number }) => w.pid).sort()).toEqual(workerPids(name).sort());
    for (const p of [pool, ...pool.workers]) {
      expect(p.cpuPercent).toEqual(expect.any(Number));
      expect(p.rssBytes).toBeGreaterThan(1024 * 1024);
      expect(p.uptimeMs).toBeGreaterThanOrEqual(0);
    }
    const text = await runCli(['ps', name]);
    expect(text.stdout).toMatch(new RegExp(`^${name}\\s+${cli.pid}\\s+.*looppool ${name} \\[control\\]$`, 'm'));
    expect(text.stdout).toMatch(/├─ worker 0\s+\d+/);
    expect(text.stdout).toMatch(/└─ worker 1\s+\d+/);
    process.kill(-cli.pid, 'SIGKILL');
  });

  it('says so when nothing matches', async () => {
    const run = await runCli(['ps', 'no-such-pool-anywhere']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('No looppool pool matches');
    expect(JSON.parse((await runCli(['ps', '--json', 'no-such-pool-anywhere'])).stdout)).toEqual([]);
  });
});

describe('looppool stop', () => {
  it('a pool whose workers a subreaper adopted is orphaned: ps shows no parent, and stop signals no process but the workers', async () => {
    // Before: the subreaper (systemd --user is one) was taken for the pool's parent: stop sent it SIGTERM, stop --force SIGKILL.
    const name = uniqueName('adopted');
    const emptyPath = mkdtempSync(path.join(os.tmpdir(), 'looppool-nopath-')); // no setpriv: the workers outlive their parent a while
    const reaper = spawn('python3', [path.resolve(fixture('.'), '../parents/subreaper.py'), process.execPath, BIN, 'run', fixture('sleep.mjs'), '--size', '2', '--name', name], {
      env: { ...process.env, CHILD_PATH: emptyPath },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    let workers: number[] = [];
    try {
      let out = '';
      reaper.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => out.includes('\n'), 'the subreaper to print its pid and the command\'s');
      const [reaperPid, cliPid] = out.trim().split(' ').map(Number) as [number, number];
      await waitFor(() => workerPids(name).length === 2, 'two workers');
      workers = workerPids(name);
      for (const pid of workers) process.kill(pid, 'SIGSTOP'); // their watchdog threads cannot see the parent go
      process.kill(cliPid, 'SIGKILL');
      await waitFor(() => workers.every((pid) => readProcess(pid)?.ppid === reaperPid), 'the subreaper to adopt the workers');

      const [pool] = JSON.parse((await runCli(['ps', '--json', name])).stdout) as Record<string, unknown>[];
      expect(pool).toMatchObject({ name, pid: cliPid, orphaned: true, cli: false, command: '', cpuPercent: null });
      const stop = await runCli(['stop', name, '--timeout', '2000']);
      expect(stop.code).toBe(1);
      expect(stop.stderr).toContain('its parent is gone; use --force to kill the workers');
      expect(isAlive(reaperPid)).toBe(true);
      const force = await runCli(['stop', name, '--force']);
      expect(force.code).toBe(0);
      await waitFor(() => !workers.some(isAlive), 'the workers to be killed');
      expect(isAlive(reaperPid)).toBe(true);
    } finally {
      for (const pid of workers) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      if (reaper.pid !== undefined && isAlive(reaper.pid)) process.kill(-reaper.pid, 'SIGKILL');
      rmSync(emptyPath, { recursive: true, force: true });
    }
  });


  it('stops a pool gracefully through its control channel: it drains and exits 143', async () => {
    const name = uniqueName('stop');
    const cli = startCli(['run', fixture('sleep.mjs'), '--size', '2', '--concurrency', '2', '--name', name], {
      input: sleepTasks(100, 300),
      detached: true,
    });
    await cli.waitForRecords(4);
    const stop = await runCli(['stop', name]);
    expect(stop.code).toBe(0);
    expect(stop.stderr).toMatch(/through its control channel/);
    expect(stop.stderr).toMatch(new RegExp(`${name} \\(pid ${cli.pid}\\) stopped`));
    expect((await cli.exit()).code).toBe(143);
    const last = Number(/every line up to (\d+)/.exec(cli.stderr)?.[1]);
    expect(cli.records().map((r) => r.line).sort((a, b) => a - b)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    await expectNoPoolLeft(name);
  });

  it('a graceful stop asked twice is one graceful stop: the started tasks still finish', async () => {
    // Before: the second `looppool stop` counted as a second signal and killed the workers.
    const name = uniqueName('stop2');
    const cli = startCli(['run', fixture('sleep.mjs'), '--size', '2', '--concurrency', '1', '--name', name], {
      input: sleepTasks(6, 5000), // long enough that the pool still runs when the second stop looks for it, on a busy machine too
      detached: true,
    });
    await waitForControl(cli.pid);
    const first = runCli(['stop', name]);
    await cli.waitForStderr(/no more input is read/);
    const second = await runCli(['stop', name]);
    expect(second.code).toBe(0);
    expect((await first).code).toBe(0);
    expect((await cli.exit()).code).toBe(143);
    expect(cli.stderr).not.toMatch(/stopping the workers now/);
    expect(cli.records().length).toBeGreaterThan(0);
    expect(cli.records().every((r) => r.error === undefined)).toBe(true); // the started tasks finished
    await expectNoPoolLeft(name);
  });

  // A pool's control directory follows the XDG_RUNTIME_DIR and TMPDIR it started with; a cron job
  // or a service has none, or others, than the shell `looppool stop` runs in. Before: ps and top
  // showed no control channel, and stop fell back to SIGTERM, which ends an application whose
  // pool has control: true but no signal handler, its tasks lost.
  it('finds and stops through its control channel a pool started with another TMPDIR and no XDG_RUNTIME_DIR', async () => {
    const name = uniqueName('elsewhere');
    const [poolTmp, shellTmp] = [mkdtempSync(path.join(os.tmpdir(), 'looppool-pool-tmp-')), mkdtempSync(path.join(os.tmpdir(), 'looppool-shell-tmp-'))];
    const poolEnv = { TMPDIR: poolTmp, XDG_RUNTIME_DIR: undefined };
    const shellEnv = { TMPDIR: shellTmp, XDG_RUNTIME_DIR: undefined };
    try {
      const cli = startCli(['run', fixture('sleep.mjs'), '--size', '1', '--concurrency', '2', '--name', name], { input: sleepTasks(100, 300), detached: true, env: poolEnv });
      const socket = path.join(poolTmp, `looppool-${process.getuid?.()}`, `${cli.pid}@${name}.sock`);
      await waitFor(() => existsSync(socket), 'the control socket in the pool’s TMPDIR');
      const ps = await runCli(['ps', '--json', name], { env: shellEnv });
      expect(JSON.parse(ps.stdout)).toMatchObject([{ name, pid: cli.pid, control: socket }]);
      const stop = await runCli(['stop', name], { env: shellEnv });
      expect(stop.code).toBe(0);
      expect(stop.stderr).toContain(`asked ${name} (pid ${cli.pid}) to stop through its control channel`);
      expect((await cli.exit()).code).toBe(143);
      await expectNoPoolLeft(name);
    } finally {
      rmSync(poolTmp, { recursive: true, force: true });
      rmSync(shellTmp, { recursive: true, force: true });
    }
  });

  it('stops a pool without a control channel by SIGTERM, named by a worker pid', async () => {
    const name = uniqueName('stop');
    const cli = startCli(['run', fixture('sleep.mjs'), '--size', '2', '--concurrency', '2', '--name', name, '--no-control'], {
      input: sleepTasks(100, 300),
      detached: true,
    });
    await cli.waitForRecords(2);
    const worker = workerPids(name)[0] as number;
    const stop = await runCli(['stop', String(worker)]);
    expect(stop.code).toBe(0);
    expect(stop.stderr).toMatch(new RegExp(`sent SIGTERM to ${name} \\(pid ${cli.pid}`));
    expect((await cli.exit()).code).toBe(143);
    await expectNoPoolLeft(name);
  });

  it('--force kills the parent, every worker and their children at once: nothing outlives it', async () => {
    const name = uniqueName('kill');
    const cli = startCli(['run', fixture('spawns-child.mjs'), '--size', '2', '--concurrency', '1', '--name', name], {
      input: '1\n2\n3\n',
      keepStdinOpen: true,
    });
    await cli.waitForRecords(2);
    const grandchildren = cli.records().map((r) => r.extra.grandchild as number);
    const workers = workerPids(name);
    expect(grandchildren.every(isAlive)).toBe(true);
    const stop = await runCli(['stop', name, '--force']);
    expect(stop.code).toBe(0);
    expect((await cli.exit()).signal).toBe('SIGKILL');
    for (const pid of [cli.pid, ...workers, ...grandchildren]) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    await expectNoPoolLeft(name);
  });

  it('--force removes the killed pool\'s control socket (it cannot remove it itself), and no other pool\'s', async () => {
    const name = uniqueName('sock');
    const cli = await startBusyPool(name);
    const other = await startBusyPool(uniqueName('sock'));
    await waitForControl(cli.pid);
    await waitForControl(other.pid);
    const socketOf = (pid: number): string | undefined => listControlSockets().find((s) => s.pid === pid)?.path;
    const socket = socketOf(cli.pid) as string;
    const stop = await runCli(['stop', name, '--force']);
    expect(stop.code).toBe(0);
    expect((await cli.exit()).signal).toBe('SIGKILL');
    expect(existsSync(socket), socket).toBe(false);
    expect(socketOf(other.pid)).toBeDefined();
    await expectNoPoolLeft(name);
  });

  it('finds a pool an application owns, and stops it gracefully through its control channel', async () => {
    const name = uniqueName('app');
    const app = spawn(process.execPath, [fixture('app-parent.mjs'), name], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    app.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    const exited = new Promise((resolve) => app.once('exit', resolve));
    try {
      await waitFor(() => out.includes('READY'), 'the application to start its pool');
      const pool = JSON.parse((await runCli(['ps', '--json', name])).stdout)[0];
      expect(pool).toMatchObject({ name, pid: app.pid, cli: false, command: expect.stringContaining('app-parent.mjs'), control: expect.stringContaining(`${app.pid}@${name}.sock`) });
      expect(pool.workers).toHaveLength(2);
      const stop = await runCli(['stop', String(app.pid)]);
      expect(stop.code).toBe(0);
      expect(stop.stderr).toMatch(/through its control channel/);
      await waitFor(() => out.includes('STOPPED'), 'the pool to stop');
      expect(out).toContain('STOPPED done=4'); // drained: the running tasks finished
      await exited;
      await expectNoPoolLeft(name);
    } finally {
      app.kill('SIGKILL');
    }
  });

  it('stops an application\'s pool that is still starting through its control channel: the application is not signalled, and ends by itself', async () => {
    // Before: the socket opened only once the workers were up, and stop fell back to SIGTERM, which ended the application.
    const name = uniqueName('appstart');
    const app = spawn(process.execPath, [fixture('app-slow-start.mjs'), name], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    app.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => app.once('exit', (code, signal) => resolve([code, signal])));
    try {
      await waitFor(() => workerPids(name).length === 1, 'its worker to start (it takes 2 s in initialize())');
      const stop = await runCli(['stop', String(app.pid)]);
      expect(stop.code).toBe(0);
      expect(stop.stderr).toMatch(/through its control channel/);
      await waitFor(() => out.includes('STOPPED'), 'the pool to stop');
      expect(await exited).toEqual([0, null]); // it ended by itself, not by a signal
      await expectNoPoolLeft(name);
    } finally {
      app.kill('SIGKILL');
    }
  });

  it('with a pool inside a worker: refuses the worker\'s pid as ambiguous, says at once that the inner pool cannot drain by signal, stops the tree through the outer one', async () => {
    const name = uniqueName('outer');
    const app = spawn(process.execPath, [fixture('nested-app.mjs'), name], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    app.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    const exited = new Promise((resolve) => app.once('exit', resolve));
    try {
      await waitFor(() => out.includes('READY') && workerPids(`${name}-in`).length === 1, 'both pools to start');
      const [outerWorker] = workerPids(name);
      // Before: it stopped both pools in turn, and failed (kill ESRCH) about half the time.
      const ambiguous = await runCli(['stop', String(outerWorker)]);
      expect(ambiguous.code).toBe(2);
      expect(ambiguous.stderr).toContain(`pid ${outerWorker} is worker of ${name} (pid ${app.pid}) and the parent of ${name}-in`);
      // Before: SIGTERM to the outer worker, which ignores it, then a wait for the whole timeout.
      const inner = await runCli(['stop', `${name}-in`, '--timeout', '600000']);
      expect(inner.code).toBe(1);
      expect(inner.stderr).toMatch(/its parent is a looppool worker \(looppool .* worker 0\), which ignores SIGTERM: give that pool control: true for a graceful stop, or use --force/);
      expect(workerPids(`${name}-in`)).toHaveLength(1); // untouched
      const stop = await runCli(['stop', String(app.pid)]);
      expect(stop.code).toBe(0);
      await waitFor(() => out.includes('STOPPED'), 'the outer pool to stop');
      await exited;
      await expectNoPoolLeft(name);
      await expectNoPoolLeft(`${name}-in`);
    } finally {
      app.kill('SIGKILL');
    }
  });

  it('exits 2 when no pool matches, and refuses an ambiguous name', async () => {
    expect((await runCli(['stop', 'no-such-pool-anywhere'])).code).toBe(2);
    const name = uniqueName('twin');
    const a = await startBusyPool(name);
    const b = await startBusyPool(name, 4);
    const stop = await runCli(['stop', name]);
    expect(stop.code).toBe(2);
    expect(stop.stderr).toMatch(/Several pools are named .*give a pid/);
    for (const cli of [a, b]) process.kill(-cli.pid, 'SIGKILL');
  });
});

describe('looppool top', () => {
  it('prints screens one after another when stdout is not a terminal', async () => {
    const name = uniqueName('top');
    const cli = await startBusyPool(name);
    await waitFor(async () => (await runCli(['top', name, '-n', '1'])).stdout.includes('in flight 4'), 'top to show the control figures');
    const run = await runCli(['top', name, '-n', '2', '-i', '200']);
    expect(run.code).toBe(0);
    const screens = run.stdout.split('looppool top ·').filter(Boolean);
    expect(screens).toHaveLength(2);
    expect(screens[1]).toMatch(new RegExp(`${name}  pid ${cli.pid}  looppool ${name}`));
    expect(screens[1]).toMatch(/running · queue 0 · in flight 4 · done 0 · failed 0/);
    for (const pid of workerPids(name)) expect(screens[1]).toMatch(new RegExp(`\\s${pid}\\s+ready\\s+2\\s`));
    process.kill(-cli.pid, 'SIGKILL');
  });

  it('counts the input lines started, not a line read that waits for a free slot', async () => {
    const name = uniqueName('top');
    const cli = startCli(['run', fixture('sleep.mjs'), '--size', '1', '--concurrency', '2', '--name', name], { input: sleepTasks(10, 600_000), detached: true });
    await waitForControl(cli.pid);
    // Two tasks run; the third line is read and waits for a slot.
    await waitFor(async () => (await runCli(['top', name, '-n', '1'])).stdout.includes('in flight 2'), 'top to show the two tasks in flight');
    expect((await runCli(['top', name, '-n', '1'])).stdout).toMatch(/ · input 2 lines started\n/);
    process.kill(-cli.pid, 'SIGKILL');
  });

  // Before: a line was cut by its length, and one with CJK text (two columns a character) still
  // wrapped onto the next line of the screen.
  it('cuts a line to the terminal width in columns: a command line with CJK text does not wrap (tmux)', async () => {
    const name = uniqueName('wide');
    // An application's pool shows its parent's command line: the fixture ignores this argument.
    const app = spawn(process.execPath, [fixture('app-parent.mjs'), name, '日本語のテキスト'.repeat(10)], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    app.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-tmux-'));
    const socket = path.join(dir, 'socket');
    // -u: UTF-8 whatever the locale, else tmux shows each wide character as `_`.
    const tmux = (...args: string[]): string => execFileSync('tmux', ['-u', '-S', socket, ...args], { encoding: 'utf8' });
    try {
      await waitFor(() => out.includes('READY'), 'the application to start its pool');
      // About 40 columns of the line left for the CJK text, after `<name>  pid <pid>  <node> <fixture> <name> `.
      const width = 80 + process.execPath.length + fixture('app-parent.mjs').length;
      tmux('new-session', '-d', '-s', 'top', '-x', String(width), '-y', '30', `${process.execPath} ${BIN} top ${name}; sleep 30`);
      const screen = (): string[] => tmux('capture-pane', '-p', '-t', 'top').split('\n');
      await waitFor(() => screen().some((line) => /WORKER\s+PID/.test(line)), 'the live screen to show the pool');
      const rows = screen();
      const head = rows.findIndex((line) => line.startsWith(`${name}  pid ${app.pid}  `));
      expect(rows[head]).toMatch(/日本語のテ.*…$/);
      expect(stringWidth(rows[head] as string)).toBeLessThan(width);
      expect(rows[head + 1]).toMatch(/^ {2}(running|\(its control channel)/); // the pool's next line, not the rest of this one
    } finally {
      spawnSync('tmux', ['-S', socket, 'kill-server']);
      rmSync(dir, { recursive: true, force: true });
      await runCli(['stop', name, '--force']);
      app.kill('SIGKILL');
      await expectNoPoolLeft(name);
    }
  });

  it('renders live in a real terminal (tmux), shows the workers, and quits on q', async () => {
    const name = uniqueName('tmux');
    const cli = await startBusyPool(name);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-tmux-'));
    const socket = path.join(dir, 'socket'); // a kill-server leaves its socket file: removed with dir
    const tmux = (...args: string[]): string => execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });
    try {
      tmux('new-session', '-d', '-s', 'top', '-x', '180', '-y', '40', `${process.execPath} ${BIN} top ${name}; sleep 30`);
      const screen = (): string => tmux('capture-pane', '-p', '-t', 'top');
      await waitFor(() => /in flight 4/.test(screen()), 'the live screen to show the pool');
      const shown = screen();
      expect(shown).toMatch(/looppool top · 1 pool ·/);
      expect(shown).toMatch(/WORKER\s+PID\s+STATE\s+IN FLIGHT/);
      for (const pid of workerPids(name)) expect(shown).toMatch(new RegExp(`\\s${pid}\\s+ready`));
      tmux('send-keys', '-t', 'top', 'q');
      await waitFor(() => !/looppool top ·/.test(screen()), 'top to quit and give the screen back');
    } finally {
      spawnSync('tmux', ['-S', socket, 'kill-server']);
      rmSync(dir, { recursive: true, force: true });
      process.kill(-cli.pid, 'SIGKILL');
    }
  });
});
