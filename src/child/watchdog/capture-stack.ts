/**
 * Captures the main thread's JavaScript stack from the watchdog thread: connect an inspector
 * session to the main thread, enable the debugger only now (no cost while the loop is healthy),
 * pause, read the call frames, resume at once, disable and disconnect. Script URLs come from
 * `Debugger.scriptParsed` (Node 20 leaves `callFrame.url` empty) and positions go through
 * source maps after the main thread runs again.
 */
import { Session } from 'node:inspector/promises';
import type { Debugger } from 'node:inspector';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MAX_FRAMES, type BlockedFrame } from '../../protocol/watchdog-report.ts';
import { SourceMapCache } from './source-maps.ts';

interface Script {
  readonly url: string;
  readonly sourceMapURL: string;
}

/** The result of {@link captureMainThreadStack} when it gave up waiting. */
export const CAPTURE_TIMED_OUT = Symbol('capture timed out');
/** The result of {@link captureMainThreadStack} when the block had ended before the pause landed. */
export const BLOCK_ENDED = Symbol('block ended');

/** How a capture's session ends early. */
export interface CaptureOptions {
  /**
   * Aborted when the main thread exits: the session is disconnected at once (also that of a capture
   * that timed out and still waits for its pause) and the capture resolves with {@link BLOCK_ENDED}.
   */
  readonly signal?: AbortSignal | undefined;
  /** Called once, when the capture holds no session any more (or never opened one). */
  readonly onClosed?: (() => void) | undefined;
}

/**
 * Pause the main thread and return its stack, innermost frame first. Resolves with
 * {@link CAPTURE_TIMED_OUT} when the pause has not landed within `timeoutMs` (the main thread is
 * inside native code and only pauses when JavaScript runs again); the capture then finishes in
 * the background and still resumes the thread, its frames discarded. Resolves with
 * {@link BLOCK_ENDED} when `stillBlocked()`, asked while the thread is paused, says the block is
 * over: the stack would be of whatever ran next (a watchdog slowed by a busy CPU pauses late).
 * @throws when the inspector cannot be used.
 */
export async function captureMainThreadStack(
  timeoutMs: number,
  stillBlocked: () => boolean = () => true,
  { signal, onClosed }: CaptureOptions = {},
): Promise<BlockedFrame[] | typeof CAPTURE_TIMED_OUT | typeof BLOCK_ENDED> {
  const session = new Session();
  const state = { abandoned: false };
  let closed = false;
  let aborted = (): void => {};
  const close = (): void => {
    if (closed) return;
    closed = true;
    state.abandoned = true;
    signal?.removeEventListener('abort', aborted);
    session.disconnect(); // at once: the main thread must not exit with it open
    onClosed?.();
  };
  const ended = new Promise<typeof BLOCK_ENDED>((resolve) => {
    aborted = () => {
      close();
      resolve(BLOCK_ENDED);
    };
  });
  if (signal?.aborted) aborted();
  else signal?.addEventListener('abort', aborted);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof CAPTURE_TIMED_OUT>((resolve) => {
    timer = setTimeout(() => {
      state.abandoned = true;
      resolve(CAPTURE_TIMED_OUT);
    }, timeoutMs);
  });
  try {
    const captured = closed ? ended : capture(session, state, stillBlocked).finally(close);
    return await Promise.race([captured, timeout, ended]);
  } finally {
    clearTimeout(timer);
  }
}

async function capture(session: Session, state: { abandoned: boolean }, stillBlocked: () => boolean): Promise<BlockedFrame[] | typeof BLOCK_ENDED> {
  session.connectToMainThread();
  const scripts = new Map<string, Script>();
  session.on('Debugger.scriptParsed', ({ params }) => {
    scripts.set(params.scriptId, { url: params.url, sourceMapURL: params.sourceMapURL ?? '' });
  });
  // Asked here, while the main thread is held paused: it cannot move on meanwhile.
  const paused = new Promise<Debugger.CallFrame[] | typeof BLOCK_ENDED>((resolve) => {
    session.once('Debugger.paused', ({ params }) => resolve(stillBlocked() ? params.callFrames : BLOCK_ENDED));
  });
  let callFrames: Debugger.CallFrame[] | typeof BLOCK_ENDED = [];
  await session.post('Debugger.enable');
  if (!state.abandoned) {
    await session.post('Debugger.pause');
    callFrames = await paused;
    await session.post('Debugger.resume');
  }
  await session.post('Debugger.disable');
  return callFrames === BLOCK_ENDED ? BLOCK_ENDED : toFrames(callFrames, scripts);
}

function toFrames(callFrames: readonly Debugger.CallFrame[], scripts: ReadonlyMap<string, Script>): BlockedFrame[] {
  const maps = new SourceMapCache();
  return callFrames.slice(0, MAX_FRAMES).map((frame) => {
    const script = scripts.get(frame.location.scriptId);
    const url = normalizeUrl(script?.url || frame.url);
    const position = maps.map(url, script?.sourceMapURL ?? '', frame.location.lineNumber, frame.location.columnNumber ?? 0);
    return { functionName: frame.functionName, url: position.url, line: position.line, column: position.column };
  });
}

/** CommonJS scripts can be reported by path; make every location a URL. */
function normalizeUrl(url: string): string {
  return isAbsolute(url) ? pathToFileURL(url).href : url;
}
