/**
 * Runs the `looppool` command as a user does (`node bin/looppool.js …`, built dist/), feeds its
 * stdin, collects stdout/stderr and the exit code, and makes sure no process it started —
 * the command, its workers, their children — outlives the test, nor the control socket of one
 * the test killed (a killed process cannot remove its own).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { readProcessTable } from '../../src/cli/proc/process-table.ts';
import { controlRequest } from '../../src/control/client.ts';
import { listControlSockets } from '../../src/control/runtime-dir.ts';
import { isAlive, waitFor } from '../helpers/processes.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/looppool.js');

/** Absolute path of a fixture under test/fixtures/cli. */
export function fixture(name: string): string {
  return path.join(ROOT, 'test/fixtures/cli', name);
}

let counter = 0;
/** A pool name no other test (or test run) uses, so its processes can be found by title. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running `looppool` process. */
export class CliProcess {
  readonly child: ChildProcess;
  /** Leads its own process group. */
  readonly detached: boolean;
  readonly exited: Promise<Exit>;
  #stdout = '';
  #stderr = '';

  constructor(child: ChildProcess, detached: boolean) {
    this.child = child;
    this.detached = detached;
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (this.#stdout += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (this.#stderr += s));
    child.stdin?.on('error', () => {}); // the command may exit before reading everything
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get stdout(): string {
    return this.#stdout;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The output records (stdout lines parsed as JSON). */
  records(): Record<string, any>[] {
    return this.#stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, any>);
  }

  async waitForStderr(pattern: RegExp, timeout = 20_000): Promise<RegExpExecArray> {
    await waitFor(() => pattern.test(this.#stderr), `stderr to match ${pattern} (stderr so far: ${this.#stderr})`, timeout);
    return pattern.exec(this.#stderr) as RegExpExecArray;
  }

  async waitForRecords(count: number, timeout = 20_000): Promise<void> {
    await waitFor(() => this.records().length >= count, `${count} records (got ${this.records().length})`, timeout);
  }

  /** Wait for the exit, failing after `timeout` ms. */
  async exit(timeout = 30_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`looppool did not exit within ${timeout} ms; stderr: ${this.#stderr}`)), timeout);
    });
    try {
      return await Promise.race([this.exited, limit]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface StartOptions {
  /** Written to stdin; stdin is then closed unless `keepStdinOpen`. Chunks are written one by one. */
  input?: string | Buffer | readonly (string | Buffer)[];
  keepStdinOpen?: boolean;
  /** Lead its own process group (so a signal can go to the whole group). */
  detached?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout handling; 'pipe' by default, or a file descriptor of the test's. */
  stdout?: 'pipe' | 'ignore' | number;
}

const started = new Set<CliProcess>();

/** Start `looppool <args>`. */
export function startCli(args: readonly string[], options: StartOptions = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', options.stdout ?? 'pipe', 'pipe'],
    detached: options.detached === true,
  });
  const cli = new CliProcess(child, options.detached === true);
  started.add(cli);
  const input = options.input;
  if (input !== undefined) {
    for (const chunk of typeof input === 'string' || Buffer.isBuffer(input) ? [input] : input) child.stdin?.write(chunk);
  }
  if (!options.keepStdinOpen) child.stdin?.end();
  return cli;
}

/** Run `looppool <args>` to its end. */
export async function runCli(args: readonly string[], options: StartOptions = {}, timeout = 30_000): Promise<CliProcess & Exit> {
  const cli = startCli(args, options);
  const exit = await cli.exit(timeout);
  return Object.assign(cli, exit);
}

/** Pids of the processes titled for pool `name`: its `looppool run` parent and its workers (those of `name@2`… too). */
export function poolProcesses(name: string): number[] {
  const title = new RegExp(`^looppool ${name.replace(/[.]/g, '\\.')}((@\\d+)? worker \\d+)?$`);
  return readProcessTable()
    .filter((p) => title.test(p.argv0) && p.state !== 'Z')
    .map((p) => p.pid);
}

/** Worker pids of pool `name` (and of further pools of that name in one process, `name@2`…). */
export function workerPids(name: string): number[] {
  const title = new RegExp(`^looppool ${name.replace(/[.]/g, '\\.')}(@\\d+)? worker \\d+$`);
  return readProcessTable()
    .filter((p) => title.test(p.argv0) && p.state !== 'Z')
    .map((p) => p.pid);
}

/** Wait until no process of pool `name` is left. */
export async function expectNoPoolLeft(name: string, timeout = 10_000): Promise<void> {
  await waitFor(() => poolProcesses(name).length === 0, `no process of pool ${name} to be left (${poolProcesses(name).join(', ')})`, timeout);
}

/** `count` JSON lines `{ "ms": ms, "id": i }`, i from 1. */
export function sleepTasks(count: number, ms: number): string {
  return Array.from({ length: count }, (_, i) => `${JSON.stringify({ ms, id: i + 1 })}\n`).join('');
}

export interface SilentFifo {
  readonly path: string;
  /** Close the writer and remove the FIFO (done after each test anyway). */
  close(): void;
}

/** What removes the FIFOs made by the test (and closes their writers), after each test. */
const fifoCleanups = new Set<() => void>();

/** A new FIFO (Linux) in a directory of its own, removed after the test, with `cleanup` run first. */
function makeFifo(cleanup: () => void = () => {}): { path: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-fifo-'));
  const file = path.join(dir, 'input');
  execFileSync('mkfifo', [file]);
  const remove = (): void => {
    if (!fifoCleanups.delete(remove)) return;
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  };
  fifoCleanups.add(remove);
  return { path: file, remove };
}

/**
 * A FIFO (Linux) in a directory of its own, holding `content`, whose writer stays open and
 * silent until `close()`: a producer that has more to say, later. The writer is this process,
 * which opens the FIFO read-write: on Linux that never blocks and counts as a writer.
 */
export function silentFifo(content: string): SilentFifo {
  let writer: number | undefined;
  const fifo = makeFifo(() => writer !== undefined && closeSync(writer));
  writer = openSync(fifo.path, 'r+');
  writeSync(writer, content);
  return { path: fifo.path, close: fifo.remove };
}

export interface WriterlessFifo {
  readonly path: string;
  /**
   * Open the FIFO for writing, write `content` (under 64 KiB) and close it: its reader gets the
   * content, then the end of the input. Throws ENXIO when no reader has it open (it never waits).
   */
  writeAndClose(content: string): void;
}

/** A FIFO (Linux) no process has opened yet: opening it to read blocks until a writer comes. */
export function writerlessFifo(): WriterlessFifo {
  const fifo = makeFifo();
  return {
    path: fifo.path,
    writeAndClose(content) {
      const writer = openSync(fifo.path, constants.O_WRONLY | constants.O_NONBLOCK);
      try {
        writeSync(writer, content);
      } finally {
        closeSync(writer);
      }
    },
  };
}

/** A FIFO (Linux) no process has opened yet, for `--output`: opening it to write waits for a reader. */
export function readerlessFifo(): { readonly path: string } {
  return { path: makeFifo().path };
}

/**
 * Wait until the `looppool run` of `pid` opened its control channel: its pool has started and it
 * handles signals. The socket's file exists from bind(), a moment before the server listens: a
 * request in between is refused (ECONNREFUSED; seen on a loaded machine), so this waits for an answer.
 */
export async function waitForControl(pid: number): Promise<void> {
  await waitFor(
    async () => {
      const socket = listControlSockets().find((s) => s.pid === pid);
      return socket !== undefined && (await controlRequest(socket.path, { op: 'stats' }).then(() => true, () => false));
    },
    `looppool (pid ${pid}) to open its control channel`,
    20_000,
  );
}

afterEach(async () => {
  for (const remove of [...fifoCleanups]) remove();
  const all = [...started];
  started.clear();
  for (const cli of all) {
    if (cli.child.exitCode !== null || cli.child.signalCode !== null) continue;
    try {
      if (cli.detached) process.kill(-cli.pid, 'SIGKILL'); // the command and its workers
    } catch {
      // the group is gone already
    }
    cli.child.kill('SIGKILL');
    await cli.exited;
  }
  await waitFor(() => all.every((c) => !isAlive(c.pid)), 'the commands started by the test to exit', 10_000);
  const pids = new Set(all.map((c) => c.pid));
  for (const socket of listControlSockets()) {
    if (pids.has(socket.pid)) unlinkSync(socket.path);
  }
});
