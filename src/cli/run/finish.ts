/** The end of a run: its exit code, the note about unread input, and the summary. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EXIT, exitCodeForSignal } from '../exit-codes.ts';
import type { RunStats, RunSummary } from './run-stats.ts';
import { formatSummary } from './summary.ts';

/** Why a run ended before its input did. */
export type StopReason =
  | { readonly kind: 'signal'; readonly signal: NodeJS.Signals }
  | { readonly kind: 'output'; readonly error: NodeJS.ErrnoException }
  | { readonly kind: 'input'; readonly error: Error };

/** 128 + signal after a stop request; 0 when stdout's reader left (EPIPE); 1 for failures; else 0. */
export function runExitCode(reason: StopReason | undefined, failed: number): number {
  if (reason?.kind === 'signal') return exitCodeForSignal(reason.signal);
  if (reason?.kind === 'output') return reason.error.code === 'EPIPE' ? EXIT.OK : EXIT.FAILED;
  return reason?.kind === 'input' || failed > 0 ? EXIT.FAILED : EXIT.OK;
}

/**
 * The line that says where to resume after a stop request. `dropped`: a stop at once left records
 * that the output's reader did not take, so the output, not this line, says where to resume.
 */
export function stoppedNote(signal: NodeJS.Signals, stats: RunStats, notStartedLine: number, dropped = false): string {
  const from = notStartedLine || stats.lastLineStarted + 1;
  const total = stats.total;
  const lost = 'but the output did not take all their records (its reader stopped reading or fell behind: resume after the last record it has)';
  if (total !== undefined && stats.finished >= total) {
    return `stopped by ${signal}: ${dropped ? `the whole input was run, ${lost}` : 'every line has its record (the whole input was run)'}`;
  }
  const left = total === undefined ? '' : ` (${Math.max(0, total - stats.finished)} of ${total} non-blank lines)`;
  const done =
    stats.lastLineStarted === 0 ? 'no line was started' : dropped ? `the lines up to ${stats.lastLineStarted} were run, ${lost}` : `every line up to ${stats.lastLineStarted} has its record`;
  return `stopped by ${signal}: ${done}; input from line ${from} on was not run${left} and has no record`;
}

export interface SummaryTarget {
  readonly name: string;
  /** `--json-summary`: a file, `-` for stderr, or undefined. */
  readonly json: string | undefined;
  readonly quiet: boolean;
  /** Nothing on stderr (the output was closed by its reader). */
  readonly silent: boolean;
  readonly cwd: string;
  readonly stderr: NodeJS.WritableStream;
}

/** Write the summary where it was asked for; resolves with an error message if the file failed. */
export async function writeSummary(summary: RunSummary, to: SummaryTarget): Promise<string | undefined> {
  if (to.json === '-') {
    if (!to.silent) to.stderr.write(`${JSON.stringify(summary)}\n`);
    return undefined;
  }
  if (!to.quiet && !to.silent) to.stderr.write(formatSummary(to.name, summary));
  if (to.json === undefined) return undefined;
  try {
    await writeFile(path.resolve(to.cwd, to.json), `${JSON.stringify(summary, null, 2)}\n`);
    return undefined;
  } catch (err) {
    return `cannot write --json-summary ${to.json}: ${(err as Error).message}`;
  }
}
