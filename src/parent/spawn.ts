/** The arguments of `fork()` for one worker process, and nothing else. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ResolvedPoolOptions } from '../options.ts';

/** The child entry, next to this file once built (`dist/child/main.js`). */
const CHILD_ENTRY = fileURLToPath(new URL('../child/main.js', import.meta.url));

/** fd 2 is the parent's stderr: a number in `stdio` hands that descriptor to the child. */
const STDOUT = { inherit: 'inherit', stderr: 2, ignore: 'ignore' } as const;

export function spawnWorker(options: ResolvedPoolOptions): ChildProcess {
  // The module URL in argv lets the worker start importing it before the handshake, and the
  // blocked-loop threshold lets it start its watchdog thread first thing (neither is a secret;
  // the worker's title replaces argv in `ps` once it runs).
  return fork(CHILD_ENTRY, [options.workerUrl, String(options.blockedLoopThreshold ?? '')], {
    execArgv: [...options.execArgv],
    env: options.env,
    // fd 3 is Node's IPC channel (kept for liveness: a child exits when it disconnects);
    // fd 4 is the data channel (a private socketpair carrying our frames); fd 5 carries the
    // watchdog thread's reports (JSON lines), written while the worker's main thread is blocked.
    stdio: ['ignore', STDOUT[options.workerStdout], 'inherit', 'ipc', 'pipe', 'pipe'],
    serialization: 'json',
  });
}
