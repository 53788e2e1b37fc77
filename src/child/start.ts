/** What a worker process does at start (the entry, main.ts, runs it): wiring only; the logic is in Runtime. */
import { DATA_FD, WATCHDOG_FD, runsWatchdog } from '../protocol/messages.ts';
import { Channel } from '../transport/channel.ts';
import { Runtime } from './runtime.ts';

export async function startWorkerProcess(): Promise<void> {
  // Shutdown is by message (the poison pill), as in Python's looppool: a Ctrl-C that reaches the
  // whole process group must not kill workers behind the parent's back.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});

  // Read before anything can wait: once the parent is gone, ppid is someone else's (1, a subreaper).
  const parentPid = process.ppid;
  // argv (spawn.ts): the module URL; the blocked-loop threshold in ms or ''; and the parent's pid
  // when the kernel SIGKILLs this process once its parent dies (setpriv --pdeathsig), or ''.
  const [, , moduleUrl, thresholdArg, guardedParent] = process.argv;
  const threshold = thresholdArg ? Number(thresholdArg) : undefined;
  // The signal was armed just before this process became Node: a parent that died before then is
  // not watched by it, and this process already belongs to someone else.
  if (guardedParent && Number(guardedParent) !== parentPid) process.exit(0);
  // The watchdog thread, when anything needs it, first: it ends this process if the parent dies
  // (where the kernel does not), even while the main thread is blocked, and reports blocked loops
  // (armed once the worker is ready). Its boot (about 40 ms of CPU, at a lower priority)
  // overlaps the handshake instead of the first tasks. Its code (with node:inspector and
  // node:worker_threads) is imported only then: a worker without it reaches its first task about
  // 1.5-2 ms of CPU sooner. The thread's module is located from the entry's directory: the entry
  // is bundled (bundle.config.mjs), the thread is not.
  const watchdog = runsWatchdog(threshold, Boolean(guardedParent))
    ? (await import('./watchdog/start-watchdog.ts')).startWatchdog({
        parentPid,
        blockedLoopThreshold: threshold,
        reportFd: WATCHDOG_FD,
        threadUrl: new URL('./watchdog/thread.js', import.meta.url),
        armed: false,
      })
    : undefined;
  const runtime = new Runtime(watchdog);
  // Not `import net from 'node:net'`: an ES import of a built-in also runs every lazy getter it
  // exports (for net, BlockList and SocketAddress: ~1 ms of this process's start).
  const { Socket } = process.getBuiltinModule('node:net');
  const socket = new Socket({ fd: DATA_FD, readable: true, writable: true });
  const channel = new Channel(socket, 1024 * 1024 * 1024, {
    message: runtime.receive,
    corrupt: () => process.exit(70),
    close: () => process.exit(), // the parent is gone (or we ended the pipe): never outlive it
  });
  process.on('uncaughtException', (err) => runtime.onEscapedError(err, 'uncaughtException'));
  process.on('unhandledRejection', (reason) => runtime.onEscapedError(reason, 'unhandledRejection'));
  runtime.start(channel);
  runtime.preload(moduleUrl); // the parent names the worker module here, so its import overlaps the handshake
}
