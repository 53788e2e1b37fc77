/**
 * A blocked-loop report as a Sentry event: the blocking stack becomes the exception's stack
 * trace, so Sentry groups episodes by the code that blocked and shows its source lines.
 */
import { fileURLToPath } from 'node:url';
import type { Event, StackFrame } from '@sentry/node';
import type { BlockedFrame, LoopBlockedReport } from '../protocol/watchdog-report.ts';

/** The exception type blocked-loop events carry (their title in Sentry). */
export const LOOP_BLOCKED_TYPE = 'LoopBlocked';

/**
 * Build the event for one report. Its tags and contexts, `blockedLoop` among them
 * ({@link blockedLoopContext}), go on the caller's scope: an event's own contexts do not reach
 * Sentry (keepOwnData keeps the scope's).
 */
export function blockedLoopEvent(report: LoopBlockedReport): Event {
  const value = `The event loop was blocked for ${report.blockedMs} ms${report.stackUnavailable ? ` (no stack: ${report.stackUnavailable})` : ''}`;
  return {
    level: 'warning',
    exception: {
      values: [
        {
          type: LOOP_BLOCKED_TYPE,
          value,
          mechanism: { type: 'looppool.watchdog', handled: true, synthetic: true },
          // Sentry lists frames outermost first; the watchdog reports innermost first.
          ...(report.frames.length > 0 ? { stacktrace: { frames: report.frames.map(toSentryFrame).reverse() } } : {}),
        },
      ],
    },
  };
}

/** The `blockedLoop` context of a report's events: how long, and why no stack when there is none. */
export function blockedLoopContext(report: LoopBlockedReport): Record<string, unknown> {
  return { blockedMs: report.blockedMs, ...(report.stackUnavailable ? { stackUnavailable: report.stackUnavailable } : {}) };
}

/** One watchdog frame in Sentry's shape: file paths for `file:` URLs, `in_app` outside node_modules and Node itself. */
export function toSentryFrame(frame: BlockedFrame): StackFrame {
  const filename = frame.url.startsWith('file:') ? safePath(frame.url) : frame.url;
  return {
    function: frame.functionName || '<anonymous>',
    filename,
    abs_path: filename,
    lineno: frame.line,
    colno: frame.column,
    in_app: !filename.startsWith('node:') && !filename.includes('/node_modules/'),
  };
}

function safePath(url: string): string {
  try {
    return fileURLToPath(url);
  } catch {
    return url;
  }
}
