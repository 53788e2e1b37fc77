/**
 * Runs a fixture script as a real child process and collects what it says: stdout lines, and
 * the lines written to fd 3 (a pipe standing in for the report pipe the pool opens). Each line on
 * fd 3 is acknowledged (fixtures/watchdog/acks.mjs: a fixture's blocked loop lasts until its
 * report was seen). Every child started here is SIGKILLed by `killChildren()` if it is still alive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createReportAcks } from '../../fixtures/watchdog/ack-writer.mjs';
import { isAlive, waitFor } from '../../helpers/processes.ts';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures');

/** A running fixture process. */
export interface FixtureRun {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Complete stdout lines so far. */
  readonly stdout: string[];
  /** Complete lines written to fd 3 so far. */
  readonly fd3: string[];
  /** Everything written to stderr so far (for failure messages). */
  stderr(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started = new Set<ChildProcess>();
const ackFiles: { remove(): void }[] = [];

/** Absolute path of a file under test/fixtures. */
export function fixturePath(relative: string): string {
  return path.join(fixtures, relative);
}

/** 1-based number of the first line of a fixture that contains `marker`. */
export function lineOf(relative: string, marker: string): number {
  return readFileSync(fixturePath(relative), 'utf8').split('\n').findIndex((line) => line.includes(marker)) + 1;
}

/** Start `node [execArgv] test/fixtures/<script> [args]` with stdout, stderr and fd 3 piped. */
export function runFixture(script: string, args: string[] = [], options: { execArgv?: string[]; env?: NodeJS.ProcessEnv } = {}): FixtureRun {
  const acks = createReportAcks();
  ackFiles.push(acks);
  const child = spawn(process.execPath, [...(options.execArgv ?? []), fixturePath(script), ...args], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: { ...(options.env ?? process.env), ...acks.env },
  });
  started.add(child);
  const stdout: string[] = [];
  const fd3: string[] = [];
  let stderr = '';
  collectLines(child.stdout as Readable, stdout);
  collectLines(child.stdio[3] as Readable, fd3, acks.ack);
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, pid: child.pid as number, stdout, fd3, stderr: () => stderr, exited };
}

/** Wait (up to `timeout` ms) for a stdout line matching `pattern`; returns it. */
export async function waitForStdout(run: FixtureRun, pattern: RegExp, timeout = 15_000): Promise<string> {
  await waitFor(() => run.stdout.some((line) => pattern.test(line)), `a stdout line matching ${pattern} (stderr: ${run.stderr()})`, timeout);
  return run.stdout.find((line) => pattern.test(line)) as string;
}

/** SIGKILL every fixture process still alive (call in afterEach). */
export async function killChildren(): Promise<void> {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined && isAlive(child.pid)) child.kill('SIGKILL');
  }
  for (const acks of ackFiles.splice(0)) acks.remove();
  await waitFor(() => [...started].every((c) => c.pid === undefined || !isAlive(c.pid)), 'the fixture processes to exit', 5_000);
  started.clear();
}

function collectLines(stream: Readable, into: string[], onLine?: () => void): void {
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    into.push(...lines);
    if (onLine) for (const line of lines) if (line !== '') onLine();
  });
}
