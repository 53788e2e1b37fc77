/**
 * Workers whose process cannot be started, or cannot start its watchdog thread: a typed start
 * failure with the reason, never an uncaught error in the pool's process.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isAlive } from '../helpers/processes.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const parent = path.resolve(here, '../fixtures/parents/spawn-failure.mjs');
const echo = path.resolve(here, '../fixtures/workers/echo.mjs');
const run = promisify(execFile);

/** Node's permission model: `--permission` from Node 22.13 and 23.5, `--experimental-permission` before. */
const PERMISSION = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';

function lines(stdout: string): Array<Record<string, any>> {
  return stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
}

describe('a worker that cannot be started', () => {
  it("under Node's permission model without --allow-child-process: start() rejects with WorkerInitError, stage 'spawn', naming the flag", async () => {
    const { stdout } = await run(process.execPath, [PERMISSION, '--allow-fs-read=*', parent, echo, 'start', ''], { timeout: 30_000 });
    const [outcome, end] = lines(stdout);
    expect(outcome?.error).toMatchObject({
      name: 'WorkerInitError',
      code: 'ERR_WORKER_INIT',
      stage: 'spawn',
      cause: { code: 'ERR_ACCESS_DENIED' },
    });
    expect(outcome?.error.message).toMatch(/^Worker 0 failed to start file:.*echo\.mjs: could not start its process: .*--allow-child-process/);
    expect(end).toEqual({ state: 'stopped' });
  });

  it('many such starts at once: each says why, none only that the process exited (the report was lost when the parent\'s init met a process already gone)', async () => {
    // The race needs load: the worker wrote hello, then its failure, and exited while the parent's
    // init was on its way (a broken pipe there dropped what was left unread). 24 pools at once lost
    // one report or more in most runs before the fix.
    const runs = Array.from({ length: 24 }, () => run(process.execPath, [PERMISSION, '--allow-fs-read=*', '--allow-child-process', parent, echo, 'start', '500'], { timeout: 60_000 }));
    const stages = (await Promise.all(runs)).map(({ stdout }) => lines(stdout)[0]?.error.stage as string);
    expect(stages).toEqual(stages.map(() => 'load'));
  });

  it("under Node's permission model without --allow-worker, a worker that needs its watchdog thread fails to start saying why", async () => {
    const { stdout } = await run(
      process.execPath,
      [PERMISSION, '--allow-fs-read=*', '--allow-child-process', parent, echo, 'start', '500'],
      { timeout: 30_000 },
    );
    const [outcome, end] = lines(stdout);
    expect(outcome?.error).toMatchObject({ name: 'WorkerInitError', stage: 'load' });
    expect(outcome?.error.message).toMatch(/could not start the watchdog thread \(blockedLoopThreshold is set; Node's permission model allows it with --allow-worker\)/);
    expect(outcome?.error.cause.cause).toMatchObject({ code: 'ERR_ACCESS_DENIED' });
    expect(end).toEqual({ state: 'stopped' });
  });

  it('out of file descriptors (EMFILE), a replacement fails to spawn without harming the pool, which starts one once descriptors are free', async () => {
    // The pool's process gets 256 descriptors; it uses them all up, then its worker is killed.
    const { stdout } = await run('bash', ['-c', 'ulimit -n 256 && exec "$0" "$@"', process.execPath, parent, echo, 'emfile'], { timeout: 60_000 });
    const [out] = lines(stdout);
    expect(out).toMatchObject({
      before: 'before',
      after: 'after',
      state: 'stopped',
      startError: { name: 'WorkerInitError', stage: 'spawn', cause: { code: 'EMFILE' } },
    });
    expect(out?.startError.message).toMatch(/^Worker 0 failed to start .*: could not start its process: Error: spawn .*EMFILE/);
    expect(out?.replacement).not.toBe(out?.victim);
    expect(isAlive(out?.victim)).toBe(false);
    expect(isAlive(out?.replacement)).toBe(false);
  });
});
