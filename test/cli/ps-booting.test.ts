/**
 * `looppool ps` and `top` list a worker still booting (Node and its preloads starting, before
 * looppool's code sets its title) under its pool, marked as such: its pid is not invisible.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive, pidsWithEnv, waitFor } from '../helpers/processes.ts';
import { fixture, runCli, uniqueName } from './helpers.ts';

interface PsWorker {
  worker: number;
  pid: number;
  state: string;
}

describe('looppool ps with workers still booting', () => {
  it('lists them under their pool, with their pids, marked booting, then started once they run', async () => {
    // Before: a worker was found by its title only, which looppool's code sets: a pool whose
    // workers were all still booting was not listed at all ("No looppool pools are running").
    const name = uniqueName('boot');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-boot-'));
    const flag = path.join(dir, 'go');
    const app = spawn(process.execPath, [fixture('app-held-boot.mjs'), name, flag], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    app.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    const appPid = app.pid as number;
    let workers: number[] = [];
    try {
      await waitFor(() => pidsWithEnv('LOOPPOOL_PARENT_PID', String(appPid)).length === 2, 'the two worker processes to exist');
      workers = pidsWithEnv('LOOPPOOL_PARENT_PID', String(appPid)).sort((a, b) => a - b);

      const [pool, ...others] = JSON.parse((await runCli(['ps', '--json', name])).stdout) as { pid: number; cli: boolean; orphaned: boolean; workers: PsWorker[] }[];
      expect(others).toEqual([]);
      expect(pool).toMatchObject({ pid: appPid, cli: false, orphaned: false });
      expect(pool?.workers.map((w) => w.worker)).toEqual([0, 1]);
      expect(pool?.workers.map((w) => w.pid).sort((a, b) => a - b)).toEqual(workers);
      expect(pool?.workers.map((w) => w.state)).toEqual(['booting', 'booting']);

      const text = (await runCli(['ps', name])).stdout;
      expect(text).toMatch(/^├─ worker 0\s+\d+\s.*\[booting\]$/m);
      expect(text).toMatch(/^└─ worker 1\s+\d+\s.*\[booting\]$/m);
      const byPid = JSON.parse((await runCli(['ps', '--json', String(workers[0])])).stdout) as { pid: number }[];
      expect(byPid.map((p) => p.pid)).toEqual([appPid]);
      const top = (await runCli(['top', '-n', '1', name])).stdout;
      expect(top).toMatch(/^\s+0\s+\d+\s+booting\s/m);
      expect(top).toMatch(/^\s+1\s+\d+\s+booting\s/m);

      writeFileSync(flag, '');
      await waitFor(() => out.includes('READY'), 'the pool to start once its workers may boot');
      const [started] = JSON.parse((await runCli(['ps', '--json', name])).stdout) as { workers: PsWorker[] }[];
      expect(started?.workers.map((w) => [w.pid, w.state]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(workers.map((pid) => [pid, 'started']));
    } finally {
      if (workers.length === 0) workers = pidsWithEnv('LOOPPOOL_PARENT_PID', String(appPid));
      app.kill('SIGKILL');
      writeFileSync(flag, ''); // a worker still held would otherwise wait on until its parent's pipe is read
      await waitFor(() => !isAlive(appPid) && !workers.some(isAlive), 'the application and its workers to exit');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
