/** Where `looppool run` reads its tasks and writes its records: stdin/stdout or files. */
import { closeSync, constants, createReadStream, fstatSync, open as openFd, readFileSync, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Socket } from 'node:net';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { isatty, ReadStream as TtyReadStream } from 'node:tty';
import { promisify } from 'node:util';
import { UsageError } from '../exit-codes.ts';
import type { CliIo } from '../io.ts';

export interface InputSource {
  readonly stream: Readable;
  /** A regular file holding the same bytes from `start` on, whose lines can be counted ahead for the progress total. */
  readonly countable: { readonly path: string; readonly start: number } | undefined;
  /** True when reading a terminal (a person types the tasks). */
  readonly isTerminal: boolean;
  /** The regular file read (device and inode), which `--output` must not be. */
  readonly file: FileId | undefined;
}

/** What makes a file itself, whatever path (a symlink, another hard link) leads to it. */
export interface FileId {
  readonly dev: number;
  readonly ino: number;
}

export interface OutputSink {
  readonly stream: Writable;
  /** True for a file, which is closed at the end (stdout is left open). */
  readonly close: boolean;
  /** True for a pipe or a terminal (stdout, a FIFO), whose reader can stop reading and hold the writes for ever; false for a regular file. */
  readonly mayStall: boolean;
}

/** Open `--input` (or stdin for none or `-`). @throws {UsageError} when the file cannot be read. */
export async function openInput(input: string | undefined, io: CliIo): Promise<InputSource> {
  if (input === undefined || input === '-') {
    const info = stdinStats(io);
    // Its first read fails with EISDIR, which stdin's stream took for the end of an empty input (0 tasks, exit 0).
    if (info?.isDirectory()) throw new UsageError('stdin is a directory: give the tasks one per line on stdin, or --input FILE');
    const file = info?.isFile() ? info : undefined;
    const start = file ? stdinOffset() : undefined;
    return { stream: io.stdin, countable: start === undefined ? undefined : { path: '/proc/self/fd/0', start }, isTerminal: io.stdin.isTTY === true, file };
  }
  const file = path.resolve(io.cwd, input);
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new UsageError(`Input file not found: ${file}`);
  if (info.isDirectory()) throw new UsageError(`--input is a directory: ${file}`);
  const fd = await openFdAsync(file, openFlags(info)).catch((err: Error) => {
    throw new UsageError(`Cannot read --input ${file}: ${err.message}`);
  });
  const stream = readStream(file, fd);
  return { stream, countable: info.isFile() ? { path: file, start: 0 } : undefined, isTerminal: stream instanceof TtyReadStream, file: info.isFile() ? info : undefined };
}

const openFdAsync = promisify(openFd);

/**
 * How to open `--input`. A FIFO is opened without waiting for a writer (O_NONBLOCK), on Linux: a
 * blocking open waits in the threadpool before the command handles signals, so a Ctrl-C meanwhile
 * killed it with no summary, and it would hold even `process.exit()` until a writer came. Linux
 * reports neither data nor the end of input on such a FIFO until a writer has come (fs/pipe.c:
 * "suppress EPOLLHUP until we have seen a writer"), so the reader on the event loop waits for one
 * as the blocking open did, and the input ends when it closes. Other systems may report the end
 * at once: there the open still blocks.
 */
function openFlags(info: Stats): number {
  return info.isFIFO() && process.platform === 'linux' ? constants.O_RDONLY | constants.O_NONBLOCK : constants.O_RDONLY;
}

/**
 * A stream over the open `fd`, chosen as Node chooses one for stdin. A pipe (a FIFO, a process
 * substitution `<(…)`) or a terminal is read on the event loop, never by a blocking read in the
 * threadpool: such a read would wait for the writer however the stream is destroyed, so a stop
 * request would wait too, and even `process.exit()` (which joins the threadpool). A regular file
 * or another device, whose reads return at once, is read as a file.
 */
function readStream(file: string, fd: number): Readable {
  try {
    const info = fstatSync(fd);
    if (info.isFIFO() || info.isSocket()) return new Socket({ fd, readable: true, writable: false });
    if (isatty(fd)) return new TtyReadStream(fd);
  } catch (error) {
    closeSync(fd);
    throw new UsageError(`Cannot read --input ${file}: ${(error as Error).message}`);
  }
  return createReadStream(file, { fd });
}

/**
 * Open `--output` (or stdout for none or `-`), truncating a file. A FIFO (on Linux) is written on
 * the event loop, as a pipe, once a reader has opened it: `note` is told after a second of waiting
 * for one. `input`: the regular file the tasks are read from, which is refused as the output:
 * opening it truncated it before a line was read (`-i x.jsonl -o x.jsonl` ran 0 tasks, exit 0).
 * @throws {UsageError}
 */
export async function openOutput(output: string | undefined, io: CliIo, note: (text: string) => void = () => {}, input?: FileId): Promise<OutputSink> {
  if (output === undefined || output === '-') return { stream: io.stdout, close: false, mayStall: true };
  const file = path.resolve(io.cwd, output);
  const info = await stat(file).catch(() => undefined);
  if (info && input && info.dev === input.dev && info.ino === input.ino) {
    throw new UsageError(`--output ${file} is the input file: opening it for the records would empty it before its tasks are read`);
  }
  if (info?.isFIFO() && process.platform === 'linux') return { stream: await openFifoForWriting(file, note), close: true, mayStall: true };
  const handle = await open(file, 'w').catch((err: Error) => {
    throw new UsageError(`Cannot write --output ${file}: ${err.message}`);
  });
  return { stream: handle.createWriteStream(), close: true, mayStall: false };
}

/** How often to try a FIFO that has no reader yet, and after how long to say so. */
const FIFO_RETRY_MS = 50;
const FIFO_NOTE_MS = 1_000;

/**
 * A FIFO opened for writing without blocking. A blocking open waited in the threadpool for a
 * reader, and a file stream's writes then blocked there while the reader did not read: even two
 * Ctrl-Cs could not end the command, since `process.exit()` joins the threadpool. Linux refuses a
 * non-blocking open for writing while no reader has the FIFO open (ENXIO), and tells no one when
 * one comes: the open is tried again until it succeeds. Nothing has started meanwhile, so a
 * signal ends the command as its default action does. Once open, the FIFO is written as a pipe on
 * the event loop (a full pipe waits for the reader; a reader that leaves is EPIPE, as for stdout).
 */
async function openFifoForWriting(file: string, note: (text: string) => void): Promise<Writable> {
  const started = Date.now();
  let noted = false;
  for (;;) {
    try {
      const fd = await openFdAsync(file, constants.O_WRONLY | constants.O_NONBLOCK);
      return new Socket({ fd, readable: false, writable: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw new UsageError(`Cannot write --output ${file}: ${(error as Error).message}`);
    }
    if (!noted && Date.now() - started >= FIFO_NOTE_MS) {
      noted = true;
      note(`waiting for a program to read --output ${file} (a FIFO); Ctrl-C stops`);
    }
    await new Promise((resolve) => setTimeout(resolve, FIFO_RETRY_MS));
  }
}

/** What stdin is (a regular file for `< tasks.jsonl`), when it is the process's own. */
function stdinStats(io: CliIo): Stats | undefined {
  if (io.stdin !== process.stdin) return undefined;
  try {
    return fstatSync(0);
  } catch {
    return undefined;
  }
}

/**
 * Where reading stdin's file will begin: a shell that read part of the file before (`{ read -r
 * header; looppool run …; } < tasks.jsonl`) left its offset there, and the lines before it are not
 * this run's. Linux's /proc tells it; undefined where it cannot be read (then nothing is counted).
 */
function stdinOffset(): number | undefined {
  try {
    const pos = /^pos:\s*(\d+)$/m.exec(readFileSync('/proc/self/fdinfo/0', 'latin1'))?.[1];
    return pos === undefined ? undefined : Number(pos);
  } catch {
    return undefined;
  }
}

/**
 * Count the non-blank lines of a regular file from byte `start` on (for the progress total),
 * reading it in the background. Resolves undefined if it cannot be read.
 */
export async function countLines(file: string, start = 0): Promise<number | undefined> {
  let count = 0;
  let nonBlank = false;
  let cr = false; // the byte before was a \r: a line ending if a \n follows, content otherwise
  try {
    for await (const chunk of createReadStream(file, { start, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i] as number;
        if (cr && b !== 0x0a) nonBlank = true;
        cr = b === 0x0d;
        if (b === 0x0a) {
          if (nonBlank) count++;
          nonBlank = false;
        } else if (b !== 0x20 && b !== 0x09 && b !== 0x0d) {
          nonBlank = true;
        }
      }
    }
  } catch {
    return undefined;
  }
  return nonBlank || cr ? count + 1 : count;
}
