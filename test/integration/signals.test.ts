import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
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
});
