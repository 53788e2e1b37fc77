/**
 * `looppool ps`, `top` and `stop` against an application that gave two pools the same name (as
 * two pools without `name` are: both 'pool'): each is a pool of its own, with its own workers
 * (titled `looppool <name>@2 worker <n>` for the second) and its own control socket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readProcess } from '../../src/cli/proc/process-table.ts';
import { isAlive, waitFor } from '../helpers/processes.ts';
import { expectNoPoolLeft, fixture, runCli, uniqueName } from './helpers.ts';

interface PsPool {
  name: string;
  instance: number;
  pid: number;
  control: string | null;
  workers: { worker: number; pid: number }[];
}

/** The application of app-same-name.mjs, started with pool name `name`, once it printed READY. */
async function startApp(name: string): Promise<{ app: ChildProcess; exited: Promise<unknown> }> {
  const app = spawn(process.execPath, [fixture('app-same-name.mjs'), name], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise((resolve) => app.once('exit', resolve));
  let out = '';
  app.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  await waitFor(() => /^READY .*\n/m.test(out), 'the application to start its pools');
  return { app, exited };
}

async function psJson(target: string): Promise<PsPool[]> {
  return JSON.parse((await runCli(['ps', '--json', target])).stdout) as PsPool[];
}

describe('two pools one process gave the same name', () => {
  it('are two pools to ps (their own workers and sockets), to top (each its own socket\'s figures) and to stop', async () => {
    // Before: ps listed one pool with three workers (worker 0, worker 0, worker 1) and the first
    // pool's socket, and top showed the first pool's figures for both.
    const name = uniqueName('same');
    const app = spawn(process.execPath, [fixture('app-same-name.mjs'), name], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    app.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    app.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => app.once('exit', (code, signal) => resolve([code, signal])));
    const pid = app.pid as number;
    try {
      await waitFor(() => /^READY .*\n/m.test(out), 'the application to start its pools');
      const [first, second] = JSON.parse(/^READY (.*)$/m.exec(out)?.[1] as string) as [number[], number[]];
      // The first pool's titles are as they always were; the second's carry its instance.
      expect(first.map((p) => readProcess(p)?.argv0)).toEqual([`looppool ${name} worker 0`]);
      expect(second.map((p) => readProcess(p)?.argv0)).toEqual([`looppool ${name}@2 worker 0`, `looppool ${name}@2 worker 1`]);

      const pools = await psJson(name);
      expect(pools.map((p) => ({ name: p.name, instance: p.instance, pid: p.pid, control: p.control, workers: p.workers.map((w) => [w.worker, w.pid]) }))).toEqual([
        { name, instance: 1, pid, control: expect.stringMatching(new RegExp(`/${pid}@${name}\\.sock$`)), workers: [[0, first[0]]] },
        { name, instance: 2, pid, control: expect.stringMatching(new RegExp(`/${pid}@${name}@2\\.sock$`)), workers: [[0, second[0]], [1, second[1]]] },
      ]);
      const text = (await runCli(['ps', name])).stdout;
      expect(text).toMatch(new RegExp(`^${name}\\s+${pid}\\s.*\\[control\\]\\n└─ worker 0\\s+${first[0]}\\s`, 'm'));
      expect(text).toMatch(new RegExp(`^${name}@2\\s+${pid}\\s.*\\[control\\]\\n├─ worker 0\\s+${second[0]}\\s.*\\n└─ worker 1\\s+${second[1]}\\s`, 'm'));
      expect((await psJson(`${name}@2`)).map((p) => p.instance)).toEqual([2]);

      // top: each pool with its own socket's figures (1 task in flight in the first, 3 in the second).
      const screen = async (): Promise<string> => (await runCli(['top', name, '-n', '1'])).stdout;
      await waitFor(async () => /in flight 3/.test(await screen()), 'top to show the second pool\'s figures');
      const [, one = '', two = ''] = (await screen()).split(new RegExp(`^(?=${name}(?:@2)?  pid )`, 'm'));
      expect(one).toMatch(new RegExp(`^${name}  pid ${pid}  `));
      expect(one).toMatch(/ · in flight 1 · /);
      expect(one).toMatch(new RegExp(`^  0\\s+${first[0]}\\s+ready\\s+1\\s`, 'm'));
      expect(two).toMatch(new RegExp(`^${name}@2  pid ${pid}  `));
      expect(two).toMatch(/ · in flight 3 · /);
      for (const worker of second) expect(two).toMatch(new RegExp(`^  \\d\\s+${worker}\\s+ready\\s`, 'm'));

      // stop name@2: that pool only, through its own socket.
      const stopSecond = await runCli(['stop', `${name}@2`]);
      expect(stopSecond.code).toBe(0);
      expect(stopSecond.stderr).toContain(`asked ${name}@2 (pid ${pid}) to stop through its control channel`);
      expect(second.some(isAlive)).toBe(false);
      expect(first.every(isAlive)).toBe(true);
      expect((await psJson(name)).map((p) => [p.instance, p.workers.map((w) => w.pid)])).toEqual([[1, first]]);
      const stopAll = await runCli(['stop', name]);
      expect(stopAll.code).toBe(0);
      expect(stopAll.stderr).toContain(`asked ${name} (pid ${pid}) to stop through its control channel`);
      expect(await exited).toEqual([0, null]);
      expect(out).toContain('STOPPED');
      await expectNoPoolLeft(name);
      // The application was told once that the two pools' metrics and Sentry events mix.
      expect(err.match(/\[LOOPPOOL_DUPLICATE_NAME\] LooppoolWarning: Another pool named '[^']+' is running in this process/g)).toHaveLength(1);
    } finally {
      app.kill('SIGKILL');
    }
  });

  it('stop refuses a name two processes gave their pools, naming each parent once', async () => {
    // Before: "parent pids 4242, 4242, 4343, 4343", a pid for each pool.
    const name = uniqueName('twice');
    const apps = [await startApp(name), await startApp(name)];
    try {
      const parents = apps.map(({ app }) => app.pid as number).sort((a, b) => a - b);
      for (const target of [name, `${name}@2`]) {
        const stop = await runCli(['stop', target]);
        expect(stop.code).toBe(2);
        expect(stop.stderr).toContain(`Several pools are named ${target} (parent pids ${parents.join(', ')}): give a pid`);
      }
    } finally {
      // Through their control channels, which remove their sockets (a SIGKILL would leave them).
      for (const { app } of apps) await runCli(['stop', String(app.pid)]);
      for (const { app } of apps) app.kill('SIGKILL');
      await Promise.all(apps.map(({ exited }) => exited));
      await expectNoPoolLeft(name);
    }
  });
});
