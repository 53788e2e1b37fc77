/**
 * The worker-process watchdog, in real processes running the thread the package ships
 * (`dist/child/watchdog/thread.js`; its starter from src/, fixtures/from-src.mjs): blocked-loop
 * reports with the blocking stack (JavaScript and TypeScript under tsx), one report per episode,
 * no debugger while healthy, no stack when a debugger is in use or the block is native, and a
 * process whose loop is blocked forever still dies when its parent is SIGKILLed.
 */
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWatchdogReport, type LoopBlockedReport } from '../../../src/protocol/watchdog-report.ts';
import { isAlive, niceOfThreads, waitFor } from '../../helpers/processes.ts';
import { fixturePath, killChildren, lineOf, runFixture, waitForStdout, type FixtureRun } from './run-child.ts';

afterEach(killChildren);

/** Reports from fd 3, parsed, once the fixture printed `done`. */
async function reportsOf(run: FixtureRun): Promise<LoopBlockedReport[]> {
  await waitForStdout(run, /^done/);
  expect(await run.exited).toEqual({ code: 0, signal: null });
  return run.fd3.filter(Boolean).map(parseWatchdogReport);
}

describe('blocked-loop detector', () => {
  it('reports each blocked episode once, with the blocking function, file and line (JavaScript)', async () => {
    const run = runFixture('watchdog/busy-child.mjs', ['300']);
    const reports = await reportsOf(run);
    const url = pathToFileURL(fixturePath('watchdog/busy-child.mjs')).href;
    expect(reports).toHaveLength(2); // two episodes: 1.5 s, then 0.7 s
    const [first, second] = reports as [LoopBlockedReport, LoopBlockedReport];
    expect(first.blockedMs).toBeGreaterThanOrEqual(300);
    expect(first.stackUnavailable).toBeUndefined();
    expect(first.frames[0]).toEqual({ functionName: 'spin', url, line: lineOf('watchdog/busy-child.mjs', 'the blocking line'), column: expect.any(Number) });
    expect(first.frames[1]).toMatchObject({ functionName: 'crunchNumbers', url });
    expect(second.frames.map((f) => f.functionName)).toContain('secondBlock');
    // The same reports reach onReport on the main thread once its loop runs again.
    const relayed = run.stdout.filter((l) => l.startsWith('report ')).map((l) => JSON.parse(l.slice(7)) as unknown);
    expect(relayed).toEqual(reports);
  });

  it('maps TypeScript run by tsx back to the .ts lines through the inline source map', async () => {
    const run = runFixture('watchdog/busy-child.ts', ['300'], { execArgv: ['--import', 'tsx'] });
    const [report, ...rest] = await reportsOf(run);
    const url = pathToFileURL(fixturePath('watchdog/busy-child.ts')).href;
    expect(rest).toEqual([]);
    expect(report?.frames[0]).toEqual({
      functionName: 'spinTyped',
      url,
      line: lineOf('watchdog/busy-child.ts', 'the blocking line'),
      column: expect.any(Number),
    });
    expect(report?.frames[1]).toMatchObject({ functionName: 'crunchTypedNumbers', url, line: lineOf('watchdog/busy-child.ts', 'return spinTyped(') });
  });

  it('keeps the debugger disabled while the loop is healthy, before and after an episode', async () => {
    // `debugger;` statements would stop the fixture for good if the Debugger domain stayed enabled.
    const run = runFixture('watchdog/debugger-child.mjs');
    const reported = JSON.parse((await waitForStdout(run, /^done/)).slice('done '.length)) as string[];
    expect(reported).toContain('blockNow'); // and, reaching `done`, no `debugger;` stopped it
  });

  it('reports the duration without a stack when a debugger is in use (--inspect)', async () => {
    const run = runFixture('watchdog/busy-child.mjs', ['300'], { execArgv: ['--inspect=127.0.0.1:0'] });
    const reports = await reportsOf(run);
    expect(reports).toHaveLength(2);
    for (const report of reports) {
      expect(report).toMatchObject({ kind: 'loopBlocked', frames: [], stackUnavailable: 'inspectorInUse' });
      expect(report.blockedMs).toBeGreaterThanOrEqual(300);
    }
  });

  it('reports a block inside native code without a stack, and the process carries on', async () => {
    const run = runFixture('watchdog/native-block-child.mjs');
    const reports = await reportsOf(run);
    expect(reports).toEqual([{ kind: 'loopBlocked', blockedMs: expect.any(Number), frames: [], stackUnavailable: 'captureTimeout' }]);
  });
});

describe('stack capture', () => {
  it('gives no stack when the loop has run again by the time the pause lands (the stack would be of what ran next)', async () => {
    // The watchdog asks whether the heartbeat moved since the block was seen, while the main
    // thread is held paused; here the fixture answers for it, once yes and once no.
    const run = runFixture('watchdog/capture-child.mjs');
    expect(await waitForStdout(run, /^captured /)).toBe('captured ["spinHere","blockEnded"]');
  });
});

describe('watchdog lifecycle', () => {
  it('never keeps a process alive on its own', async () => {
    const run = runFixture('watchdog/natural-exit-child.mjs');
    await waitForStdout(run, /^started$/);
    expect(await run.exited).toEqual({ code: 0, signal: null });
  });
});

describe.runIf(process.platform === 'linux')('watchdog thread priority (Linux)', () => {
  it('runs the watchdog thread 10 nice steps below the main thread (at most 19) and leaves every other thread as it was', async () => {
    const parent = runFixture('watchdog/spawning-parent.mjs');
    const childPid = Number((await waitForStdout(parent, /^spinning \d+$/)).split(' ')[1]);
    try {
      const nice = niceOfThreads(childPid);
      const own = os.getPriority(); // the child inherits this process's nice value
      const lower = Math.min(19, own + 10);
      expect(nice.get(childPid)).toBe(own); // the main thread
      expect([...nice.values()].filter((n) => n === lower)).toHaveLength(own === lower ? nice.size : 1);
      expect([...nice.values()].filter((n) => n !== lower && n !== own)).toEqual([]);
    } finally {
      process.kill(parent.pid, 'SIGKILL');
      await waitFor(() => !isAlive(childPid), 'the spinning child to die with its parent', 10_000);
    }
  });
});

describe('parent watch', () => {
  it('kills a process whose loop is blocked forever once its parent is SIGKILLed', async () => {
    const parent = runFixture('watchdog/spawning-parent.mjs');
    const line = await waitForStdout(parent, /^spinning \d+$/);
    const childPid = Number(line.split(' ')[1]);
    expect(isAlive(childPid)).toBe(true);
    try {
      process.kill(parent.pid, 'SIGKILL');
      await parent.exited;
      await waitFor(() => !isAlive(childPid), 'the orphaned spinning child to die', 10_000);
    } finally {
      if (isAlive(childPid)) process.kill(childPid, 'SIGKILL');
    }
  });

  it('does not fire while the parent lives: the spinning child stays up', async () => {
    const parent = runFixture('watchdog/spawning-parent.mjs');
    const childPid = Number((await waitForStdout(parent, /^spinning \d+$/)).split(' ')[1]);
    try {
      // Several watchdog polls (100 ms each) later, the parent is alive, so the child must be too.
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(isAlive(childPid)).toBe(true);
    } finally {
      process.kill(parent.pid, 'SIGKILL');
      await waitFor(() => !isAlive(childPid), 'the spinning child to die with its parent', 10_000);
    }
  });
});
