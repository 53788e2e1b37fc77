/**
 * A worker process that exits while its watchdog thread captures a stack: the worker's loop
 * blocks inside native code (fixtures/workers/blocks-natively.mjs), which the capture cannot
 * pause, so it is still under way when the block ends and the worker exits. The watchdog stands
 * down first: Node must not find an inspector session open at exit (it would print "Waiting for
 * the debugger to disconnect..." and wait for it), and a report it was making is still sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fixturePath, killChildren, runFixture, type FixtureRun } from './run-child.ts';

afterEach(killChildren);

/** Run the parent fixture to its end; its stdout as JSON values. */
async function runToEnd(mode: 'dispose' | 'exit'): Promise<{ run: FixtureRun; printed: unknown[] }> {
  const run = runFixture('parents/blocked-exit.mjs', [fixturePath('workers/blocks-natively.mjs'), mode]);
  expect(await run.exited, run.stderr()).toEqual({ code: 0, signal: null });
  return { run, printed: run.stdout.filter(Boolean).map((line) => JSON.parse(line) as unknown) };
}

describe('a worker that exits while its watchdog captures a stack', () => {
  it('ends after a dispose() blocked in native code without "Waiting for the debugger to disconnect", its exit clean', async () => {
    const { run, printed } = await runToEnd('dispose');
    expect(run.stderr()).not.toContain('Waiting for the debugger');
    expect(run.stderr()).toBe('');
    // The block's report, when the watchdog saw it in time (on a loaded machine it may not have):
    // made during the block, it is sent before the exit, without a stack (the block was over).
    const reports = printed.filter((value) => Object.hasOwn(value as object, 'loopBlocked'));
    expect(reports.length).toBeLessThanOrEqual(1);
    expect(printed.slice(reports.length)).toEqual([{ workerExit: { exitCode: 0, signal: null, reason: 'stop' } }, { state: 'stopped' }]);
  });

  it('ends after a task blocked in native code calls process.exit() without "Waiting for the debugger to disconnect"', async () => {
    const { run, printed } = await runToEnd('exit');
    expect(run.stderr()).not.toContain('Waiting for the debugger');
    expect(printed).toContainEqual({ loopBlocked: 'captureTimeout' });
    expect(printed).toContainEqual({ workerExit: { exitCode: 0, signal: null, reason: 'crash' } });
    expect(printed.at(-1)).toEqual({ state: 'stopped' });
  });
});
