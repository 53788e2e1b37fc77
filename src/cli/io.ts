/** The process surroundings a command uses, injectable so commands can run in tests. */
import type { Readable, Writable } from 'node:stream';

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
