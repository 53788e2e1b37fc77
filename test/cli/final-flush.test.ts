/**
 * A stop that comes once every task is done, while the output still takes the last records:
 * the run's stop reason, exit code, note and summary must say so, as for a stop while tasks run.
 * stdout is a FIFO the test opens and does not read, so the output stalls with every task done,
 * however fast the machine: 30 records of 10 KB are more than a pipe holds (64 KiB).
 */
import { once } from 'node:events';
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { controlRequest, listControlSockets } from '../../src/control/index.ts';
import { waitFor } from '../helpers/processes.ts';
import { expectNoPoolLeft, fixture, readerlessFifo, startCli, uniqueName, waitForControl, type CliProcess } from './helpers.ts';

const LINES = 30;
const input = Array.from({ length: LINES }, (_, i) => `${i + 1}\n`).join('');

/** Descriptors the test opened, closed after each test. */
const opened = new Set<number>();
afterEach(() => {
  for (const fd of opened) closeSync(fd);
  opened.clear();
});

/** A FIFO opened for reading (never read until the test says so), and a writer for the command's stdout. */
function stalledStdout(): { reader: number; writer: number } {
  const fifo = readerlessFifo();
  const reader = openSync(fifo.path, constants.O_RDONLY | constants.O_NONBLOCK);
  opened.add(reader);
  const writer = openSync(fifo.path, constants.O_WRONLY);
  opened.add(writer);
  return { reader, writer };
}

/** Start a run whose stdout is `writer`, and wait until every task is done and its pool stopped. */
async function startAndFinishTasks(name: string, writer: number): Promise<CliProcess> {
  const cli = startCli(['run', fixture('large-result.mjs'), '--size', '1', '--name', name, '--json-summary', '-'], { input, stdout: writer, detached: true });
  closeSync(writer); // the command holds its own copy
  opened.delete(writer);
  await waitForControl(cli.pid);
  // The pool is stopped only after the last record was handed to the output: the run now waits for the output alone.
  await waitFor(async () => {
    const socket = listControlSockets().find((s) => s.pid === cli.pid);
    const stats = socket && ((await controlRequest(socket.path, { op: 'stats' })) as Record<string, any>);
    return stats?.state === 'stopped' && stats.details.records.ok === LINES;
  }, 'every task to be done and the pool stopped');
  return cli;
}

/** The summary `--json-summary -` printed on stderr, or undefined. */
function jsonSummary(stderr: string): Record<string, any> | undefined {
  const line = stderr.split('\n').find((l) => l.startsWith('{'));
  return line === undefined ? undefined : (JSON.parse(line) as Record<string, any>);
}

describe('looppool run: a stop while the last records are written', () => {
  it('a second SIGINT while the output takes the last records: exit 130, the note says the output lacks records, the summary has the signal', async () => {
    const name = uniqueName();
    const { reader, writer } = stalledStdout();
    const cli = await startAndFinishTasks(name, writer);
    process.kill(cli.pid, 'SIGINT');
    await cli.waitForStderr(/SIGINT: /);
    process.kill(cli.pid, 'SIGINT');
    expect(await cli.exit(15_000)).toEqual({ code: 130, signal: null });
    expect(cli.stderr).toMatch(/stopped by SIGINT: the whole input was run, but the output did not take all their records \(its reader stopped reading or fell behind: resume after the last record it has\)/);
    expect(jsonSummary(cli.stderr)).toMatchObject({ tasks: LINES, ok: LINES, signal: 'SIGINT', stoppedEarly: false, exitCode: 130 });
    await expectNoPoolLeft(name);
    const received = readFileSync(reader, 'utf8').split('\n').filter((l) => l !== '').length; // the writer is closed: up to the end
    expect(received).toBeLessThan(LINES); // what the note says: records were dropped
  });

  it('one SIGINT while the output takes the last records waits for them: every record, exit 130, the summary has the signal', async () => {
    const name = uniqueName();
    const { reader, writer } = stalledStdout();
    const cli = await startAndFinishTasks(name, writer);
    process.kill(cli.pid, 'SIGINT');
    await cli.waitForStderr(/SIGINT: /);
    opened.delete(reader);
    const stdout = new Socket({ fd: reader, readable: true, writable: false }).setEncoding('utf8'); // now read it to the end
    let text = '';
    stdout.on('data', (chunk: string) => (text += chunk));
    try {
      await once(stdout, 'end');
    } finally {
      stdout.destroy();
    }
    expect(await cli.exit(15_000)).toEqual({ code: 130, signal: null });
    expect(text.split('\n').filter((l) => l !== '')).toHaveLength(LINES);
    expect(cli.stderr).toMatch(/SIGINT: every task is done; waiting for the output to take their last records/);
    expect(cli.stderr).toMatch(/stopped by SIGINT: every line has its record \(the whole input was run\)/);
    expect(jsonSummary(cli.stderr)).toMatchObject({ tasks: LINES, ok: LINES, signal: 'SIGINT', stoppedEarly: false, exitCode: 130 });
    await expectNoPoolLeft(name);
  });

  it('stdout closed by its reader while it takes the last records: exit 0 quietly, no summary', async () => {
    const name = uniqueName();
    const { reader, writer } = stalledStdout();
    const cli = await startAndFinishTasks(name, writer);
    closeSync(reader); // what `head` does after its bytes
    opened.delete(reader);
    expect(await cli.exit(15_000)).toEqual({ code: 0, signal: null });
    expect(jsonSummary(cli.stderr)).toBeUndefined();
    expect(cli.stderr).not.toMatch(/tasks in|EPIPE|Error|\n\s+at /);
    await expectNoPoolLeft(name);
  });
});
