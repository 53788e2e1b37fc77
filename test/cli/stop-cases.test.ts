/**
 * `looppool stop` against pools that do not answer at once, or that share their process with
 * another pool: what it asks, and of whom.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.ts';
import { expectNoPoolLeft, fixture, runCli, startCli, uniqueName } from './helpers.ts';

/** An application fixture started with `args`, its stdout collected, killed after the test whatever happens. */
function startApp(file: string, args: readonly string[]): { child: ChildProcess; out: () => string; exited: Promise<[number | null, NodeJS.Signals | null]> } {
  const child = spawn(process.execPath, [fixture(file), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
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

  it('stops every pool an application gave the same name, each through its own control channel', async () => {
    // Before: it asked the first pool only, then waited for the other's worker until the timeout (exit 1).
    const name = uniqueName('twins');
    const app = startApp('app-twin-pools.mjs', [name]);
    const pid = app.child.pid as number;
    try {
      await waitFor(() => app.out().includes('READY'), 'the application to start its pools');
      const stop = startCli(['stop', name, '--timeout', '20000']);
      expect((await stop.exit()).code).toBe(0);
      expect(stop.stderr).toMatch(/through its control channel \(2 pools of that name\)/);
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
});
