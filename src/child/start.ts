/** What a worker process does at start (the entry, main.ts, runs it): wiring only; the logic is in Runtime. */
import { PARENT_PID_VAR, WORKER_TITLE_VAR } from '../internal/worker-env.ts';
import { DATA_FD, FRAME_SLACK, MAX_MESSAGE_BYTES, WATCHDOG_FD, runsWatchdog } from '../protocol/messages.ts';
import { Channel } from '../transport/channel.ts';
import { Runtime } from './runtime.ts';
import { guardStdio } from './stdio-guard.ts';
import type { Watchdog } from './watchdog/start-watchdog.ts';

/** Set once a copy of the entry has started the worker: a process runs one worker. */
const STARTED = Symbol.for('looppool.workerProcess');

/**
 * True when `entryUrl`, the entry module's URL, is the module `node` was asked to run, argv[1]
 * (an absolute path): argv[1]'s real path, or argv[1] itself under `--preserve-symlinks-main`.
 * Only the first copy of the entry to ask gets true: a worker module can load the entry a second
 * time under another path that leads to the same file (the pool's copy reached through a
 * symlink, the worker's through the real path, with `--preserve-symlinks`), and that copy must
 * not start a second worker.
 */
export function isProcessEntry(entryUrl: string | undefined): boolean {
  const main = process.argv[1];
  const flags = globalThis as { [STARTED]?: true };
  if (main === undefined || flags[STARTED]) return false;
  const { realpathSync } = process.getBuiltinModule('node:fs');
  const { fileURLToPath } = process.getBuiltinModule('node:url');
  try {
    const self = fileURLToPath(entryUrl as string);
    if (self !== main && self !== realpathSync(main)) return false;
  } catch {
    return false; // argv[1] names no file (node -e, a REPL), or a bundler left the entry no URL
  }
  flags[STARTED] = true;
  return true;
}

export async function startWorkerProcess(): Promise<void> {
  // Before the worker module can log: a reader of stdout/stderr that goes away must not kill it.
  guardStdio();
  // Shutdown is by message (the poison pill), as in Python's looppool: a Ctrl-C that reaches the
  // whole process group must not kill workers behind the parent's back, nor a hang-up (a terminal
  // closing, an SSH session dropping) that the shell sends to each of its jobs' groups.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  process.on('SIGHUP', () => {});

  // Read before anything can wait: once the parent is gone, ppid is someone else's (1, a subreaper).
  const parentPid = process.ppid;
  // For `looppool ps` only, which reads them from /proc/<pid>/environ (the environment this process
  // was started with, which this does not change): not the worker's code's, nor its children's.
  delete process.env[PARENT_PID_VAR];
  delete process.env[WORKER_TITLE_VAR];
  // argv (spawn.ts): the module URL; the blocked-loop threshold in ms or ''; and the parent's pid
  // when the kernel SIGKILLs this process once its parent dies (setpriv --pdeathsig), or ''.
  const [, , moduleUrl, thresholdArg, guardedParent] = process.argv;
  const threshold = thresholdArg ? Number(thresholdArg) : undefined;
  // The signal was armed just before this process became Node: a parent that died before then is
  // not watched by it, and this process already belongs to someone else.
  if (guardedParent && Number(guardedParent) !== parentPid) process.exit(0);
  // The watchdog thread, when anything needs it, first (see startWatchdogThread).
  // A thread it may not start (Node's permission model without --allow-worker) fails the start,
  // told to the parent once the channel is open: the parent's start() rejects with the reason.
  let watchdogFailure: unknown;
  const watchdog = runsWatchdog(threshold, Boolean(guardedParent))
    ? await startWatchdogThread(parentPid, threshold).catch((error: unknown) => {
      watchdogFailure = watchdogError(error, threshold);
      return undefined;
    })
    : undefined;
  const runtime = new Runtime(watchdog);
  // Not `import net from 'node:net'`: an ES import of a built-in also runs every lazy getter it
  // exports (for net, BlockList and SocketAddress: ~1 ms of this process's start).
  const { Socket } = process.getBuiltinModule('node:net');
  const socket = new Socket({ fd: DATA_FD, readable: true, writable: true });
  // Before init says the pool's maxMessageBytes: the largest any pool may set.
  const channel = new Channel(socket, MAX_MESSAGE_BYTES + FRAME_SLACK, {
    message: runtime.receive,
    corrupt: () => process.exit(70),
    close: () => process.exit(), // the parent is gone (or we ended the pipe): never outlive it
  });
  process.on('uncaughtException', (err) => runtime.onEscapedError(err, 'uncaughtException'));
  process.on('unhandledRejection', (reason) => runtime.onEscapedError(reason, 'unhandledRejection'));
  runtime.start(channel, moduleUrl); // the parent names the worker module on the command line
  if (watchdogFailure !== undefined) runtime.onEscapedError(watchdogFailure, 'uncaughtException');
}

/**
 * The watchdog thread ends this process if the parent dies (where the kernel does not), even
 * while the main thread is blocked, and reports blocked loops (armed once the worker is ready).
 * Started first thing, its boot (about 40 ms of CPU, at a lower priority) overlaps the handshake
 * instead of the first tasks. Its code (with node:inspector and node:worker_threads) is imported
 * only here: a worker without it reaches its first task about 1.5-2 ms of CPU sooner. The
 * thread's module is located from the entry's directory: the entry is bundled
 * (bundle.config.mjs), the thread is not.
 */
async function startWatchdogThread(parentPid: number, threshold: number | undefined): Promise<Watchdog> {
  const { startWatchdog } = await import('./watchdog/start-watchdog.ts');
  return startWatchdog({
    parentPid,
    blockedLoopThreshold: threshold,
    reportFd: WATCHDOG_FD,
    threadUrl: new URL('./watchdog/thread.js', import.meta.url),
    armed: false,
  });
}

/** Why the watchdog thread was needed, and (Node's message says neither) which flag allows it. */
function watchdogError(cause: unknown, threshold: number | undefined): Error {
  const why = threshold === undefined ? 'no setpriv to end this worker with its parent' : 'blockedLoopThreshold is set';
  const denied = (cause as { code?: unknown } | null)?.code === 'ERR_ACCESS_DENIED';
  const flag = denied ? "; Node's permission model allows it with --allow-worker" : '';
  return new Error(`could not start the watchdog thread (${why}${flag}): ${(cause as Error | null)?.message ?? String(cause)}`, { cause });
}
