/**
 * Stopping `looppool run`: Ctrl-C to the whole process group drains (exit 130, one record per
 * started task, a report of where to resume), SIGTERM exits 143, a second signal stops at once,
 * a reader that goes away (`| head`) ends the run quietly — and no process is ever left.
 */
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { closeSync, constants, createReadStream, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { controlRequest, listControlSockets } from '../../src/control/index.ts';
import { readProcessTable } from '../../src/cli/proc/process-table.ts';
import { isAlive, waitFor } from '../helpers/processes.ts';
import { BIN, CliProcess, expectNoPoolLeft, fixture, poolProcesses, readerlessFifo, silentFifo, sleepTasks, startCli, uniqueName, waitForControl, workerPids, writerlessFifo } from './helpers.ts';

/** Lines 1..n, each exactly once. */
function expectLines(records: Record<string, any>[], n: number): void {
  expect(records.map((r) => r.line).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
}

/** The summary `--json-summary -` printed on stderr. */
function jsonSummary(stderr: string): Record<string, any> {
  return JSON.parse(stderr.split('\n').find((l) => l.startsWith('{')) ?? 'null') as Record<string, any>;
}

/** What the run of `pid` answers on its control channel, or undefined before it opened it. */
async function controlStats(pid: number): Promise<Record<string, any> | undefined> {
  const socket = listControlSockets().find((s) => s.pid === pid);
  return socket && ((await controlRequest(socket.path, { op: 'stats' })) as Record<string, any>);
}

describe('looppool run: signals', () => {
  it('SIGINT to the process group: stops reading, finishes the started tasks, exits 130, reports where to resume', async () => {
    const name = uniqueName();
    const cli = startCli(['run', fixture('sleep.mjs'), '--size', '2', '--concurrency', '16', '--name', name], {
      input: sleepTasks(2000, 200),
      detached: true,
    });
    await cli.waitForRecords(40);
    const workers = workerPids(name);
    expect(workers).toHaveLength(2);
    process.kill(-cli.pid, 'SIGINT'); // the parent, its workers and everything in the group
    const exit = await cli.exit();
    expect(exit.code).toBe(130);
    const [, last, from] = /every line up to (\d+) has its record; input from line (\d+) on was not run/.exec(cli.stderr) ?? [];
    expect(Number(from)).toBe(Number(last) + 1);
    const records = cli.records();
    expectLines(records, Number(last));
    expect(Number(last)).toBeLessThan(2000);
    expect(records.every((r) => r.result?.done.id === r.line)).toBe(true); // every started task finished
    expect(cli.stderr).not.toMatch(/\n\s+at /); // no stack trace
    await expectNoPoolLeft(name);
  });

  it('lets the started tasks of a plain Worker finish too (the pool is stopped only once they have)', async () => {
    const name = uniqueName();
    const cli = startCli(['run', fixture('plain-sleep.mjs'), '--size', '1', '--concurrency', '8', '--name', name], {
      input: sleepTasks(100, 300),
      detached: true,
    });
    await cli.waitForRecords(8);
    process.kill(-cli.pid, 'SIGINT');
    expect((await cli.exit()).code).toBe(130);
    const last = Number(/every line up to (\d+)/.exec(cli.stderr)?.[1]);
    expectLines(cli.records(), last);
    expect(cli.records().every((r) => 'result' in r)).toBe(true);
    await expectNoPoolLeft(name);
  });

  it('SIGTERM drains the same way and exits 143', async () => {
    const name = uniqueName();
    const cli = startCli(['run', fixture('sleep.mjs'), '--size', '2', '--concurrency', '4', '--name', name], { input: sleepTasks(500, 100), detached: true });
    await cli.waitForRecords(8);
    process.kill(cli.pid, 'SIGTERM');
    expect((await cli.exit()).code).toBe(143);
    expectLines(cli.records(), Number(/every line up to (\d+)/.exec(cli.stderr)?.[1]));
    await expectNoPoolLeft(name);
  });

  it.each([
    ['stderr to a file', true, 1],
    // the live display on the same terminal: the records are printed above it, through stderr
    ['the live display on it too', false, 1],
    // A session leader that does not ignore the hang-up (`sh -c` that is not dash's last command
    // run by exec) dies of it, and the kernel then hangs up its foreground jobs too: a second
    // SIGHUP, which stops at once. The failed write of the error records decides, not the signal.
    ['stderr to a file, the hang-up passed on twice', true, 2],
    ['the live display on it too, the hang-up passed on twice', false, 2],
  ])('a terminal that hangs up while the records go to it (%s): exit 1 (cannot write the output), not an abort', async (_what, stderrToFile, hangUps) => {
    // Before: Node 20 restored the dead terminal's settings at exit, failed with EIO and aborted (exit 134, a core dump).
    // And with the live display, the records lost with the terminal went unnoticed: exit 129, as if all were written.
    const name = uniqueName('hangup');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-hangup-'));
    const input = path.join(dir, 'input');
    const code = path.join(dir, 'code');
    writeFileSync(input, sleepTasks(4, 1500));
    // The records go to the terminal `script` makes. The shell that waits for the exit code ignores
    // the hang-up, and is the session's leader whatever $SHELL is (exec): the test alone sends SIGHUP.
    const shell = path.join(dir, 'run.sh');
    writeFileSync(shell, `trap '' HUP\n'${process.execPath}' '${BIN}' run '${fixture('sleep.mjs')}' --size 1 --concurrency 4 --name ${name} --json-summary '${input}.json' <'${input}'${stderrToFile ? ` 2>'${input}.err'` : ''}\necho $? >'${code}'\n`);
    const terminal = spawn('script', ['-q', '-c', `exec sh '${shell}'`, '/dev/null'], { detached: true, stdio: 'ignore' });
    const terminalGone = new Promise((resolve) => terminal.once('exit', resolve));
    try {
      await waitFor(() => workerPids(name).length === 1, 'the pool to start');
      const parent = readProcessTable().find((p) => p.argv0 === `looppool ${name}`)?.pid as number;
      // Every task started: a hang-up before that stops the run with nothing to write (exit 129).
      await waitFor(async () => (await controlStats(parent))?.inFlight === 4, 'the four tasks to start');
      process.kill(terminal.pid as number, 'SIGKILL'); // the terminal hangs up
      // Gone, its side of the terminal closed: from now on a write to the terminal fails (EIO).
      // Before it is, on a loaded machine, the kernel still took the records (a live terminal's
      // buffer), and the run rightly counted them written: exit 129.
      await terminalGone;
      process.kill(parent, 'SIGHUP'); // as a shell passes the hang-up on to its jobs
      if (hangUps === 2) {
        // Signals of one kind that come together may be taken as one: the second once the first is seen.
        await waitFor(async () => (await controlStats(parent))?.details?.stopping === true, 'the first SIGHUP to be seen');
        process.kill(parent, 'SIGHUP');
      }
      await waitFor(() => existsSync(code) && readFileSync(code, 'utf8').endsWith('\n'), 'the exit code', 30_000);
      expect(readFileSync(code, 'utf8'), stderrToFile ? readFileSync(`${input}.err`, 'utf8') : '').toBe('1\n');
      // The hang-up stopped the run; the output that then failed decided the exit code.
      expect(JSON.parse(readFileSync(`${input}.json`, 'utf8'))).toMatchObject({ signal: 'SIGHUP', exitCode: 1 });
      if (stderrToFile) expect(readFileSync(`${input}.err`, 'utf8')).toContain(hangUps === 2 ? 'SIGHUP: stopping the workers now' : 'SIGHUP: no more input is read');
      await expectNoPoolLeft(name);
    } finally {
      for (const pid of [...poolProcesses(name), terminal.pid ?? -1]) if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The manual advised nohup to keep a long run going past a hang-up. nohup leaves SIGHUP ignored,
  // but Node gives each signal it inherits ignored its default action back, and the run listens
  // for SIGHUP: a hang-up still drains it. The manual now says setsid or tmux.
  it('under nohup a hang-up still drains the run: exit 129, the started tasks finished', async () => {
    const name = uniqueName('nohup');
    const child = spawn('nohup', [process.execPath, BIN, 'run', fixture('sleep.mjs'), '--size', '1', '--concurrency', '4', '--name', name], {
      cwd: path.dirname(BIN),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const cli = new CliProcess(child, false);
    try {
      child.stdin?.end(sleepTasks(200, 300));
      await cli.waitForRecords(4);
      process.kill(child.pid as number, 'SIGHUP'); // nohup exec'd node: the same process
      expect((await cli.exit()).code).toBe(129);
      const last = Number(/every line up to (\d+) has its record/.exec(cli.stderr)?.[1]);
      expectLines(cli.records(), last);
      expect(last).toBeLessThan(200);
      await expectNoPoolLeft(name);
    } finally {
      for (const pid of poolProcesses(name)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  // The shell's stdin is one open file, shared: what `read` took is not this run's input. The
  // total was counted from the file's first byte: "(6 of 10 non-blank lines)" where 9 were the run's.
  it("counts a file on stdin from where the shell left its offset: the resume line's total", async () => {
    const name = uniqueName();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-offset-'));
    const file = path.join(dir, 'tasks.jsonl');
    writeFileSync(file, `a header line\n${sleepTasks(9, 400)}`);
    const command = `{ read -r header; exec "${process.execPath}" "${BIN}" run "${fixture('sleep.mjs')}" --size 1 --concurrency 2 --name ${name}; } < "${file}"`;
    const child = spawn('sh', ['-c', command], { cwd: path.dirname(BIN), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const cli = new CliProcess(child, true);
    try {
      await waitFor(async () => (await controlStats(cli.pid))?.details.input.total === 9, 'the input total, 9 lines');
      await cli.waitForRecords(2);
      process.kill(-cli.pid, 'SIGINT');
      expect((await cli.exit()).code).toBe(130);
      const last = Number(/every line up to (\d+) has its record/.exec(cli.stderr)?.[1]);
      expectLines(cli.records(), last);
      expect(cli.stderr).toContain(`input from line ${last + 1} on was not run (${9 - last} of 9 non-blank lines)`);
      await expectNoPoolLeft(name);
    } finally {
      for (const pid of poolProcesses(name)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SIGHUP to the process group (a terminal closing) drains the same way: exit 129, the resume note, the summary, no socket or process left', async () => {
    const name = uniqueName();
    const cli = startCli(['run', fixture('sleep.mjs'), '--size', '2', '--concurrency', '4', '--name', name, '--json-summary', '-'], {
      input: sleepTasks(500, 300),
      detached: true,
    });
    await waitForControl(cli.pid);
    await cli.waitForRecords(8);
    process.kill(-cli.pid, 'SIGHUP'); // the parent and its workers, as a shell does to its jobs on a hang-up
    expect(await cli.exit()).toEqual({ code: 129, signal: null });
    const [, last, from] = /stopped by SIGHUP: every line up to (\d+) has its record; input from line (\d+) on was not run/.exec(cli.stderr) ?? [];
    expect(Number(from)).toBe(Number(last) + 1);
    expect(Number(last)).toBeLessThan(500);
    expectLines(cli.records(), Number(last)); // the tasks in flight at the signal finished and have their records
    expect(cli.records().every((r) => r.result?.done.id === r.line)).toBe(true);
    expect(jsonSummary(cli.stderr)).toMatchObject({ signal: 'SIGHUP', stoppedEarly: true, exitCode: 129, lastLineStarted: Number(last) });
    expect(listControlSockets().filter((s) => s.pid === cli.pid)).toEqual([]);
    await expectNoPoolLeft(name);
  });

  it('a second SIGINT stops at once: the running tasks get error records, exit 130', async () => {
    const name = uniqueName();
    const cli = startCli(['run', fixture('sleep.mjs'), '--size', '2', '--concurrency', '3', '--name', name], {
      input: `${sleepTasks(2, 10)}${sleepTasks(20, 600_000)}`,
      detached: true,
    });
    await cli.waitForRecords(2);
    process.kill(-cli.pid, 'SIGINT');
    await cli.waitForStderr(/finishing the \d+ started tasks/);
    process.kill(-cli.pid, 'SIGINT');
    expect((await cli.exit()).code).toBe(130);
    const records = cli.records();
    const last = Number(/every line up to (\d+)/.exec(cli.stderr)?.[1]);
    expect(last).toBe(8); // 2 quick ones, then 6 slow ones filled the 2 × 3 slots
    expectLines(records, last);
    const stopped = records.filter((r) => r.error);
    expect(stopped).toHaveLength(6);
    for (const r of stopped) expect(r.error).toMatchObject({ origin: 'pool', name: 'WorkerStoppedError', code: 'ERR_WORKER_STOPPED' });
    await expectNoPoolLeft(name);
  });

  it('--stop-timeout ends the started tasks that outlast it, and their records say the stop timeout passed (no second signal came)', async () => {
    const name = uniqueName();
    const cli = startCli(['run', fixture('sleep.mjs'), '--size', '1', '--concurrency', '3', '--stop-timeout', '300', '--name', name], {
      input: `${sleepTasks(1, 10)}${sleepTasks(2, 600_000)}`,
      keepStdinOpen: true,
      detached: true,
    });
    await cli.waitForRecords(1); // the three lines went out together: the two long ones run
    process.kill(-cli.pid, 'SIGTERM');
    expect((await cli.exit()).code).toBe(143);
    const stopped = cli.records().filter((r) => r.error);
    expect(stopped).toHaveLength(2);
    for (const r of stopped) expect(r.error).toMatchObject({ name: 'WorkerStoppedError', message: expect.stringContaining('the stop timeout passed') });
    await expectNoPoolLeft(name);
  });

  it('a signal while the pool is starting stops it: exit 130, nothing read, no process left', async () => {
    const name = uniqueName();
    const cli = startCli(['run', fixture('slow-init.mjs'), '--size', '2', '--name', name], { input: '1\n2\n', keepStdinOpen: true, detached: true });
    await cli.waitForStderr(/STARTING/);
    process.kill(-cli.pid, 'SIGINT');
    expect((await cli.exit()).code).toBe(130);
    expect(cli.stderr).toMatch(/stopped by SIGINT while the pool was starting: no input was read/);
    expect(cli.records()).toEqual([]);
    await expectNoPoolLeft(name);
  });

  it('stops while waiting for input on an open stdin', async () => {
    const name = uniqueName();
    const cli = startCli(['run', fixture('echo.mjs'), '--size', '1', '--name', name], { input: '1\n2\n', keepStdinOpen: true, detached: true });
    await cli.waitForRecords(2);
    process.kill(-cli.pid, 'SIGINT');
    expect((await cli.exit()).code).toBe(130);
    expectLines(cli.records(), 2);
    expect(cli.stderr).toMatch(/input from line 3 on was not run/);
    await expectNoPoolLeft(name);
  });

  it('stoppedEarly is false when the whole input was read: a stop while its only task runs', async () => {
    const name = uniqueName();
    const cli = startCli(['run', fixture('sleep.mjs'), '--size', '1', '--name', name, '--json-summary', '-'], { input: sleepTasks(1, 3000), detached: true });
    await waitFor(async () => {
      const stats = await controlStats(cli.pid);
      return stats?.details.input.total === 1 && stats.inFlight === 1; // the input has ended; its task runs
    }, 'the input to end and its task to run');
    process.kill(-cli.pid, 'SIGINT');
    expect((await cli.exit()).code).toBe(130);
    expect(cli.records()).toEqual([{ line: 1, result: { done: { ms: 3000, id: 1 } } }]);
    expect(jsonSummary(cli.stderr)).toMatchObject({ tasks: 1, ok: 1, signal: 'SIGINT', lastLineStarted: 1, stoppedEarly: false, exitCode: 130 });
    expect(cli.stderr).toMatch(/stopped by SIGINT: every line has its record \(the whole input was run\)/);
    expect(cli.stderr).not.toMatch(/was not run/);
    await expectNoPoolLeft(name);
  });

  it('stoppedEarly is true when a stop leaves input unread', async () => {
    const name = uniqueName();
    const cli = startCli(['run', fixture('sleep.mjs'), '--size', '1', '--concurrency', '2', '--name', name, '--json-summary', '-'], { input: sleepTasks(100, 100), detached: true });
    await cli.waitForRecords(2);
    process.kill(-cli.pid, 'SIGINT');
    expect((await cli.exit()).code).toBe(130);
    const summary = jsonSummary(cli.stderr);
    expect(summary).toMatchObject({ signal: 'SIGINT', stoppedEarly: true, exitCode: 130 });
    expect(summary.lastLineStarted).toBeLessThan(100);
    expectLines(cli.records(), summary.lastLineStarted);
    await expectNoPoolLeft(name);
  });

  it('stops while waiting for input on a FIFO (--input) whose writer stays open and silent', async () => {
    const name = uniqueName();
    const fifo = silentFifo('1\n2\n');
    const cli = startCli(['run', fixture('echo.mjs'), '--size', '1', '--name', name, '--input', fifo.path], { detached: true });
    await cli.waitForRecords(2);
    process.kill(-cli.pid, 'SIGINT');
    expect((await cli.exit(15_000)).code).toBe(130); // not when the writer closes: a read of a pipe must not block the stop
    expectLines(cli.records(), 2);
    expect(cli.stderr).toMatch(/input from line 3 on was not run/);
    await expectNoPoolLeft(name);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s while --input is a FIFO no writer has opened yet stops the run as documented: summary, where to resume, exit %i', async (signal, code) => {
    const name = uniqueName();
    const fifo = writerlessFifo();
    const cli = startCli(['run', fixture('echo.mjs'), '--size', '1', '--name', name, '--input', fifo.path], { detached: true });
    await waitForControl(cli.pid); // the pool has started: the input is open, and read while no writer comes
    process.kill(-cli.pid, signal);
    expect(await cli.exit(15_000)).toEqual({ code, signal: null }); // it was not killed by the signal
    expect(cli.records()).toEqual([]);
    expect(cli.stderr).toMatch(new RegExp(`stopped by ${signal}: no line was started; input from line 1 on was not run`));
    expect(cli.stderr).toMatch(/0 tasks in [\d.]+ s/);
    await expectNoPoolLeft(name);
  });
});

describe('looppool run: output and input limits', () => {
  it('ends quietly when its reader goes away (EPIPE, like | head): exit 0, no stack trace, no process left', async () => {
    const name = uniqueName();
    const input = Array.from({ length: 200_000 }, (_, i) => `{"i":${i}}\n`).join('');
    const cli = startCli(['run', fixture('echo.mjs'), '--size', '2', '--name', name], { input, detached: true });
    await cli.waitForRecords(3);
    cli.child.stdout?.destroy(); // what `head` does after its lines
    const exit = await cli.exit();
    expect(exit.code).toBe(0);
    expect(cli.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    await expectNoPoolLeft(name);
  });

  it('--output naming a FIFO with no reader yet: it says it waits for one, then writes the records to it', async () => {
    const name = uniqueName();
    const fifo = readerlessFifo();
    const cli = startCli(['run', fixture('echo.mjs'), '--size', '1', '--name', name, '--output', fifo.path], { input: '1\n2\n3\n', detached: true });
    await cli.waitForStderr(/waiting for a program to read --output .* \(a FIFO\); Ctrl-C stops/);
    const chunks: Buffer[] = [];
    const reader = createReadStream(fifo.path);
    reader.on('data', (chunk) => chunks.push(chunk as Buffer));
    await once(reader, 'end');
    expect((await cli.exit()).code).toBe(0);
    const records = Buffer.concat(chunks).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => [r.line, r.result]).sort()).toEqual([[1, 1], [2, 2], [3, 3]]);
    await expectNoPoolLeft(name);
  });

  it('a second SIGINT stops at once though the output\'s reader stopped reading (a stalled FIFO): exit 130, the note says the output lacks records', async () => {
    const name = uniqueName();
    const fifo = readerlessFifo();
    const reader = openSync(fifo.path, constants.O_RDONLY | constants.O_NONBLOCK); // opens, never reads
    try {
      const input = Array.from({ length: 2_000 }, (_, i) => `${JSON.stringify(`${i} ${'x'.repeat(2_000)}`)}\n`).join('');
      const cli = startCli(['run', fixture('echo.mjs'), '--size', '1', '--name', name, '--output', fifo.path], { input, detached: true });
      await waitForControl(cli.pid);
      // 36 records of 2 KB are more than the pipe holds (64 KiB): bytes wait in the stream, for ever.
      await waitFor(async () => ((await controlStats(cli.pid))?.details?.records?.ok ?? 0) >= 36, 'the output to fill up');
      process.kill(-cli.pid, 'SIGINT');
      await cli.waitForStderr(/no more input is read/);
      process.kill(-cli.pid, 'SIGINT');
      expect(await cli.exit(15_000)).toEqual({ code: 130, signal: null });
      expect(cli.stderr).toMatch(/stopped by SIGINT: the lines up to \d+ were run, but the output did not take all their records \(its reader stopped reading or fell behind: resume after the last record it has\)/);
      await expectNoPoolLeft(name);
    } finally {
      closeSync(reader);
    }
  });

  it('keeps memory bounded on a huge line without a newline, and resumes after it', async () => {
    const name = uniqueName();
    const mib = Buffer.alloc(1024 * 1024, 'x');
    const cli = startCli(['run', fixture('echo.mjs'), '--size', '1', '--name', name], { input: ['1\n', '"'], keepStdinOpen: true, detached: true });
    await cli.waitForRecords(1);
    for (let i = 0; i < 128; i++) {
      if (!cli.child.stdin?.write(mib)) await new Promise((resolve) => cli.child.stdin?.once('drain', resolve));
    }
    const peakKb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${cli.pid}/status`, 'utf8'))?.[1]);
    cli.child.stdin?.end('"\n3\n');
    expect((await cli.exit()).code).toBe(1);
    expect(cli.records().sort((a, b) => a.line - b.line)).toEqual([
      { line: 1, result: 1 },
      { line: 2, error: expect.objectContaining({ code: 'ERR_LINE_TOO_LONG' }) },
      { line: 3, result: 3 },
    ]);
    expect(peakKb).toBeLessThan(200 * 1024); // 128 MiB streamed through, never held
    await waitFor(() => workerPids(name).length === 0, 'the workers to exit');
  });
});
