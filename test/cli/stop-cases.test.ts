/**
 * `looppool stop` against pools that do not answer at once, or that share their process with
 * another pool: what it asks, and of whom.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isAlive, pidsWithEnv, waitFor } from '../helpers/processes.ts';
import { BIN, expectNoPoolLeft, fixture, runCli, startCli, uniqueName, workerPids } from './helpers.ts';

/**
 * An application fixture started with `args` (under `prefix`, such as `unshare`), its stdout
 * collected, killed after the test whatever happens.
 */
function startApp(file: string, args: readonly string[], prefix: readonly string[] = []): { child: ChildProcess; out: () => string; exited: Promise<[number | null, NodeJS.Signals | null]> } {
  const command = [...prefix, process.execPath, fixture(file), ...args];
  const child = spawn(command[0] as string, command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
  return { child, out: () => out, exited };
}

describe('looppool stop', () => {
  it('refuses a --timeout longer than a timer can wait (exit 2), as run and top do', async () => {
    const stop = await runCli(['stop', 'no-such-pool', '--timeout', '99999999999']);
    expect(stop.code).toBe(2);
    expect(stop.stderr).toContain('--timeout must be milliseconds from 0 to 2147483647, got "99999999999"');
  });

  it('does not add a SIGTERM when the pool has the request but has not answered yet: the application is not ended', async () => {
    // Before: after 2 s without an answer it sent SIGTERM too, which ended the application once it resumed.
    const name = uniqueName('frozen');
    const app = startApp('app-parent.mjs', [name]);
    const pid = app.child.pid as number;
    try {
      await waitFor(() => app.out().includes('READY'), 'the application to start its pool');
      process.kill(pid, 'SIGSTOP'); // a parent that cannot answer for now
      const stop = startCli(['stop', String(pid)]);
      try {
        await stop.waitForStderr(/has not answered yet|sent SIGTERM/);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      expect((await stop.exit()).code).toBe(0);
      expect(stop.stderr).not.toMatch(/SIGTERM/);
      await waitFor(() => app.out().includes('STOPPED'), 'the pool to stop');
      expect(await app.exited).toEqual([0, null]); // it ended by itself, not by a signal
      await expectNoPoolLeft(name);
    } finally {
      app.child.kill('SIGKILL');
    }
  });

  it('sends one SIGTERM to an application with two pools and no control channel: both drain', async () => {
    // Before: one SIGTERM per pool, and stopOnSignals() took the second for "stop at once".
    const name = uniqueName('two');
    const app = startApp('app-two-pools.mjs', [name]);
    const pid = app.child.pid as number;
    try {
      await waitFor(() => app.out().includes('READY'), 'the application to start its pools');
      const stop = startCli(['stop', String(pid)]);
      expect((await stop.exit()).code).toBe(0);
      expect(stop.stderr.match(/sent SIGTERM/g)).toHaveLength(1);
      expect(await app.exited).toEqual([0, null]);
      expect(app.out()).toContain('ENDED ["ok","ok","ok","ok"]'); // drained: the running tasks finished
      await expectNoPoolLeft(`${name}-a`);
      await expectNoPoolLeft(`${name}-b`);
    } finally {
      app.child.kill('SIGKILL');
    }
  });

  it('refuses to stop one pool of an application that runs others beside it, when that means signalling the application', async () => {
    // Before: `stop <name>-a` (no control channel) sent SIGTERM to the application, and --force SIGKILLed it: both pools ended.
    const name = uniqueName('beside');
    const app = startApp('app-two-pools.mjs', [name]);
    const pid = app.child.pid as number;
    try {
      await waitFor(() => app.out().includes('READY'), 'the application to start its pools');
      for (const args of [['stop', `${name}-a`], ['stop', `${name}-a`, '--force']]) {
        const stop = startCli(args);
        expect((await stop.exit()).code).toBe(2);
        expect(stop.stderr).toContain(`${name}-a`);
        expect(stop.stderr).toContain(`its process (pid ${pid}) with ${name}-b`);
        expect(stop.stderr).toContain(`Give the pid ${pid} to stop them all`);
      }
      expect(isAlive(pid)).toBe(true);
      expect(app.out()).not.toContain('ENDED');
      // The pid names the process, and so both pools: one SIGTERM, both drain.
      const stop = startCli(['stop', String(pid)]);
      expect((await stop.exit()).code).toBe(0);
      expect(await app.exited).toEqual([0, null]);
      await expectNoPoolLeft(`${name}-a`);
      await expectNoPoolLeft(`${name}-b`);
    } finally {
      app.child.kill('SIGKILL');
    }
  });

  it('stops every pool an application gave the same name, each through its own control channel', async () => {
    // Before: it asked the first pool only, then waited for the other's worker until the timeout (exit 1).
    const name = uniqueName('twins');
    const app = startApp('app-twin-pools.mjs', [name]);
    const pid = app.child.pid as number;
    try {
      await waitFor(() => app.out().includes('READY'), 'the application to start its pools');
      const stop = startCli(['stop', name, '--timeout', '20000']);
      expect((await stop.exit()).code).toBe(0);
      // Each through its own socket: the second pool is `<name>@2` (its socket `<pid>@<name>@2.sock`, its workers' titles `looppool <name>@2 worker <n>`).
      expect(stop.stderr).toContain(`asked ${name} (pid ${pid}) to stop through its control channel`);
      expect(stop.stderr).toContain(`asked ${name}@2 (pid ${pid}) to stop through its control channel`);
      expect(await app.exited).toEqual([0, null]);
      expect(app.out()).toContain('STOPPED');
      await expectNoPoolLeft(name);
    } finally {
      app.child.kill('SIGKILL');
    }
  });

  it('--force on an application with two pools kills both: the parent, gone with the first, is no error for the second', async () => {
    // Before: the second pool's SIGSTOP to the parent, killed and reaped meanwhile, failed: "kill ESRCH", exit 1.
    const name = uniqueName('ktwo');
    const app = startApp('app-two-pools.mjs', [name]);
    const pid = app.child.pid as number;
    try {
      await waitFor(() => app.out().includes('READY'), 'the application to start its pools');
      const stop = startCli(['stop', String(pid), '--force']);
      expect((await stop.exit()).code).toBe(0);
      expect(stop.stderr).toContain(`${name}-a (pid ${pid}), ${name}-b (pid ${pid}) stopped`);
      expect(await app.exited).toEqual([null, 'SIGKILL']);
      await expectNoPoolLeft(`${name}-a`);
      await expectNoPoolLeft(`${name}-b`);
    } finally {
      app.child.kill('SIGKILL');
    }
  });

  it('--force also kills what a worker started in the background (no longer its descendant, still in its process group)', async () => {
    // Before: a `sleep &` of a worker, whose parent is init once its shell exited, outlived the stop.
    const name = uniqueName('kbg');
    const cli = startCli(['run', fixture('spawns-background.mjs'), '--size', '2', '--concurrency', '1', '--name', name], { input: '1\n2\n', keepStdinOpen: true });
    let background: number[] = [];
    try {
      await cli.waitForRecords(2);
      background = cli.records().map((r) => r.extra.background as number);
      expect(background.every(isAlive)).toBe(true);
      const stop = await runCli(['stop', name, '--force']);
      expect(stop.code).toBe(0);
      for (const pid of background) expect(isAlive(pid), `background pid ${pid}`).toBe(false);
      await expectNoPoolLeft(name);
    } finally {
      for (const pid of background.filter(isAlive)) process.kill(pid, 'SIGKILL');
    }
  });

  it("waits for the worker a draining application starts in place of one that died: it exits once the pool's last process has", async () => {
    // Before: it waited for the workers the pool had when asked, and said "stopped" while the replacement still ran the queue.
    const name = uniqueName('dcrash');
    const app = startApp('app-drain-crash.mjs', [name]);
    const pid = app.child.pid as number;
    try {
      await waitFor(() => app.out().includes('READY'), 'the application to submit its tasks');
      const stop = await runCli(['stop', name, '--timeout', '60000']);
      expect(stop.code).toBe(0);
      expect(pidsWithEnv('LOOPPOOL_PARENT_PID', String(pid))).toEqual([]); // no worker left, booting or not
      await waitFor(() => app.out().includes('STOPPED'), 'the application to end');
      expect(app.out().match(/^START /gm)).toHaveLength(2); // the replacement ran
      expect(app.out()).toMatch(/^EXIT \d+ crash$/m);
      expect(app.out()).toContain('STOPPED rejected fulfilled fulfilled fulfilled');
    } finally {
      app.child.kill('SIGKILL');
    }
  });

  it('with a pool whose parent is pid 1 of a PID namespace (a container without an init): not orphaned, told a SIGTERM it may not get, and not killed in part', async () => {
    // Before: ps called it orphaned; stop --force killed the workers, which the living parent replaced, and said "stopped".
    const name = uniqueName('pid1');
    const app = startApp('app-plain.mjs', [name], ['unshare', '--pid', '--fork', '--kill-child', '--map-root-user', '--mount-proc']);
    try {
      await waitFor(() => app.out().includes('READY'), 'the application to start its pool');
      const init = Number(spawnSync('pgrep', ['-P', String(app.child.pid)], { encoding: 'utf8' }).stdout.trim()); // node, as seen from here
      const inside = (...args: string[]) =>
        spawnSync('nsenter', ['-t', String(init), '--user', '--pid', '--mount', '--preserve-credentials', process.execPath, BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
      const [pool] = JSON.parse(inside('ps', '--json', name).stdout) as { pid: number; orphaned: boolean; workers: unknown[] }[];
      expect(pool).toMatchObject({ pid: 1, orphaned: false });
      expect(pool?.workers).toHaveLength(2);
      const workers = workerPids(name); // their pids as seen from here
      const stop = inside('stop', name, '--timeout', '3000'); // it does not listen for SIGTERM: the kernel drops it
      expect(stop.status).toBe(1);
      expect(stop.stderr).toMatch(/sent SIGTERM to .* \(pid 1 of its PID namespace, a container without an init: a SIGTERM reaches it only if it listens for one/);
      expect(stop.stderr).toMatch(/still running after 3000 ms/);
      const force = inside('stop', name, '--force');
      expect(force.status).toBe(1);
      expect(force.stderr).toMatch(/nothing inside the namespace can kill/);
      expect(workers.every(isAlive)).toBe(true); // none killed for nothing
      // From outside the namespace the same pool is one pool, under the pid its parent has here.
      const [outside] = JSON.parse((await runCli(['ps', '--json', name])).stdout) as { pid: number; orphaned: boolean; workers: unknown[] }[];
      expect(outside).toMatchObject({ pid: init, orphaned: false });
      expect(outside?.workers).toHaveLength(2);
    } finally {
      app.child.kill('SIGKILL'); // unshare: --kill-child takes the namespace's init, and every process in it, with it
    }
    await expectNoPoolLeft(name);
  });
});
