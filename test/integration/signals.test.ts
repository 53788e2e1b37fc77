import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Pool } from 'looppool';
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
  ])('bad options throw a TypeError at once and install no handler: %o', (options, message) => {
    const pool = new Pool({ worker: fixture('echo.ts'), size: 1 }); // never started: no process
    const before = process.listenerCount('SIGINT') + process.listenerCount('SIGTERM');
    expect(() => pool.stopOnSignals(options as never)).toThrow(TypeError);
    expect(() => pool.stopOnSignals(options as never)).toThrow(message);
    expect(process.listenerCount('SIGINT') + process.listenerCount('SIGTERM')).toBe(before);
  });
});
