/** The process surroundings a command uses, injectable so commands can run in tests. */
import type { Readable, Writable } from 'node:stream';
import { EXIT } from './exit-codes.ts';

/** A stream that may be a terminal (`process.stderr`, `process.stdout`). */
export type TerminalStream = Writable & { isTTY?: boolean; columns?: number; rows?: number };

/** stdin, stdout, stderr, environment and current directory of a command. */
export interface CliIo {
  readonly stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  readonly stdout: TerminalStream;
  readonly stderr: TerminalStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/**
 * True when `stream` is a terminal that takes cursor moves: not a `TERM=dumb` one (Emacs'
 * shell and compilation buffers, some CI log viewers), which prints the escape sequences as text.
 */
export function canRedraw(stream: TerminalStream, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** The real process's streams, environment and directory. */
export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** A reader that left (`| head`: EPIPE) or a terminal that hung up (EIO): no one to tell, no failure. */
export function readerGone(error: NodeJS.ErrnoException): boolean {
  return error.code === 'EPIPE' || error.code === 'EIO';
}

/**
 * Print `text` on stdout and wait until it is written. Exit code 1, with a message on stderr, when
 * it could not be (`looppool ps --json > pools.json` on a full disk exited 0 with an empty file).
 */
export async function printOut(io: CliIo, command: string, text: string): Promise<number> {
  // The stream's 'error' follows the callback: with a listener of its own, main's guard does not throw it.
  io.stdout.on('error', () => {});
  const error = await new Promise<Error | null | undefined>((resolve) => io.stdout.write(text, resolve));
  if (!error || readerGone(error)) return EXIT.OK;
  io.stderr.write(`looppool ${command}: cannot write the output: ${error.message}\n`);
  return EXIT.FAILED;
}
