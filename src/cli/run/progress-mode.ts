/**
 * Whether `looppool run` draws its live display, and where records then go. The display redraws
 * by moving the cursor up over its last frame, so it needs a terminal that nothing else writes to
 * meanwhile: records written there by another program (stdout piped to `cat` on the same
 * terminal) were erased by the next redraw, and the run ended on a stale frame.
 */
import { fstatSync } from 'node:fs';
import { canRedraw, type CliIo, type TerminalStream } from '../io.ts';

/**
 * `none`: no display, plain lines on stderr (as when stderr is not a terminal); `display`: the
 * live display on stderr; `above`: the display, with the records printed above it (stdout is a
 * terminal too, the same one as far as anyone can tell).
 */
export type ProgressMode = 'none' | 'display' | 'above';

/** What the choice depends on: the flags, and what stderr and stdout are. */
export interface ProgressSurroundings {
  readonly quiet: boolean;
  /** stderr is a terminal that takes cursor moves (not `TERM=dumb`). */
  readonly stderrIsTerminal: boolean;
  /** Records go to stdout (no `--output`, or `--output -`). */
  readonly recordsToStdout: boolean;
  readonly stdoutIsTerminal: boolean;
  /** stdout's file status (fstat), or undefined when it cannot be had (not a descriptor, closed). */
  readonly stdout: { isFIFO(): boolean; isSocket(): boolean } | undefined;
}

/**
 * The display is drawn only when nothing else can write to the terminal meanwhile: records go to
 * a file (`--output`), or stdout is that terminal (records are printed above the display), or
 * stdout is neither a pipe nor a socket (a file, /dev/null). A pipe or a socket may lead back to
 * the terminal through another program: then no display, as when stderr is not a terminal.
 */
export function progressMode(s: ProgressSurroundings): ProgressMode {
  if (s.quiet || !s.stderrIsTerminal) return 'none';
  if (!s.recordsToStdout) return 'display';
  if (s.stdoutIsTerminal) return 'above';
  return s.stdout !== undefined && (s.stdout.isFIFO() || s.stdout.isSocket()) ? 'none' : 'display';
}

/** {@link progressMode} for a command run with `io`. */
export function progressModeFor(io: CliIo, quiet: boolean, recordsToStdout: boolean): ProgressMode {
  return progressMode({ quiet, stderrIsTerminal: canRedraw(io.stderr, io.env), recordsToStdout, stdoutIsTerminal: io.stdout.isTTY === true, stdout: streamStat(io.stdout) });
}

/** The file status of `stream`'s descriptor (process.stdout's is 1), or undefined. */
function streamStat(stream: TerminalStream): { isFIFO(): boolean; isSocket(): boolean } | undefined {
  const fd = (stream as { fd?: unknown }).fd;
  if (typeof fd !== 'number') return undefined;
  try {
    return fstatSync(fd);
  } catch {
    return undefined;
  }
}
