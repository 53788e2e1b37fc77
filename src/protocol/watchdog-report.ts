/**
 * What the watchdog thread of a worker process tells its parent when the worker's event loop is
 * blocked: one JSON line per blocked episode, written to a dedicated pipe (the main thread is
 * blocked, so the data pipe cannot carry it). This file is the shared vocabulary of both sides
 * and imports nothing from Node, so it can live in `protocol/`.
 */
import { MessageShapeError } from './parse.ts';

/** One frame of the blocked main thread's stack, innermost first. */
export interface BlockedFrame {
  /** `''` for an anonymous function. */
  readonly functionName: string;
  /** `file:` URL (or `node:` URL) of the script; the TypeScript source when a source map told us. */
  readonly url: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

/** Why a report carries no frames. */
export type StackUnavailableReason =
  /** A debugger (`--inspect*`) is attached or listening: the watchdog does not touch it. */
  | 'inspectorInUse'
  /** The main thread did not pause in time: it is blocked inside native code (a `*Sync` call, `Atomics.wait`). */
  | 'captureTimeout'
  /** The inspector refused (Node built without it, or an error while pausing). */
  | 'captureFailed'
  /** The loop had run again by the time the pause landed (the watchdog was slow: a busy CPU), so the stack would not be the block's. */
  | 'blockEnded';

/** The report of one blocked episode: written once, while the loop is still blocked (unless it was over before its stack could be read: `'blockEnded'`). */
export interface LoopBlockedReport {
  readonly kind: 'loopBlocked';
  /** How long the loop had been blocked when the report was made, in ms. The block may go on. */
  readonly blockedMs: number;
  /** The blocking stack, innermost first; empty when `stackUnavailable` says why. */
  readonly frames: readonly BlockedFrame[];
  readonly stackUnavailable?: StackUnavailableReason;
}

const REASONS: ReadonlySet<string> = new Set<StackUnavailableReason>(['inspectorInUse', 'captureTimeout', 'captureFailed', 'blockEnded']);
/** A report longer than this is not ours (a real one is a few KiB: at most 64 frames). */
export const MAX_REPORT_LINE = 64 * 1024;
/** At most this many frames are reported. */
export const MAX_FRAMES = 64;

/**
 * Parse one line the watchdog wrote (without its `\n`).
 * @throws {MessageShapeError} when the line is not a well-formed report.
 */
export function parseWatchdogReport(line: string): LoopBlockedReport {
  if (line.length > MAX_REPORT_LINE) throw new MessageShapeError('watchdog report: line too long');
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new MessageShapeError('watchdog report: not JSON');
  }
  const m = record(raw, 'report');
  if (m.kind !== 'loopBlocked') throw new MessageShapeError('watchdog report: unknown kind');
  const blockedMs = m.blockedMs;
  if (typeof blockedMs !== 'number' || !Number.isFinite(blockedMs) || blockedMs < 0) {
    throw new MessageShapeError('watchdog report: bad blockedMs');
  }
  if (!Array.isArray(m.frames) || m.frames.length > MAX_FRAMES) throw new MessageShapeError('watchdog report: bad frames');
  const frames = m.frames.map(frame);
  const reason = m.stackUnavailable;
  if (reason === undefined) return { kind: 'loopBlocked', blockedMs, frames };
  if (typeof reason !== 'string' || !REASONS.has(reason)) throw new MessageShapeError('watchdog report: bad stackUnavailable');
  return { kind: 'loopBlocked', blockedMs, frames, stackUnavailable: reason as StackUnavailableReason };
}

/**
 * The frames as the body of a JavaScript stack trace (`    at fn (url:line:column)` lines),
 * for logs and error messages.
 */
export function formatBlockedStack(frames: readonly BlockedFrame[]): string {
  return frames.map((f) => `    at ${f.functionName || '<anonymous>'} (${f.url}:${f.line}:${f.column})`).join('\n');
}

/**
 * Cuts the report pipe's text into lines for {@link parseWatchdogReport}. A line that grows past
 * {@link MAX_REPORT_LINE} is not a report: it is dropped whole, up to its newline, so a runaway
 * writer cannot grow the parent's memory.
 * @example
 * const splitter = new ReportLineSplitter();
 * child.stdio[4].setEncoding('utf8').on('data', (chunk) => {
 *   for (const line of splitter.push(chunk)) onReport(parseWatchdogReport(line));
 * });
 */
export class ReportLineSplitter {
  #buffer = '';
  #discarding = false;

  /** Add decoded text; returns the complete, non-empty lines it finished (without `\n`). */
  push(chunk: string): string[] {
    const parts = (this.#buffer + chunk).split('\n');
    this.#buffer = parts.pop() ?? '';
    const lines: string[] = [];
    for (const part of parts) {
      if (!this.#discarding && part !== '') lines.push(part);
      this.#discarding = false;
    }
    if (this.#buffer.length > MAX_REPORT_LINE) {
      this.#buffer = '';
      this.#discarding = true;
    }
    return lines;
  }
}

function frame(raw: unknown): BlockedFrame {
  const f = record(raw, 'frame');
  const { functionName, url, line, column } = f;
  if (typeof functionName !== 'string' || typeof url !== 'string' || !isPosition(line) || !isPosition(column)) {
    throw new MessageShapeError('watchdog report: bad frame');
  }
  return { functionName, url, line, column };
}

function record(raw: unknown, what: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new MessageShapeError(`watchdog report: ${what} is not an object`);
  return raw as Record<string, unknown>;
}

function isPosition(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
