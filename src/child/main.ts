/**
 * Entry of every worker process (what the pool forks), and `looppool/worker` itself: one file
 * for both, so that a worker module's `import ... from 'looppool/worker'` finds it already
 * loaded instead of loading a file of its own (and the chunk it would share with this one).
 * It starts the worker only when it is the process's main module: a process that merely imports
 * `looppool/worker` (a test of a Worker class, say) gets the API and nothing else.
 */
import { startWorkerProcess } from './start.ts';

export * from './index.ts';

/** Set once a copy of this file has started the worker: a process runs one worker. */
const STARTED = Symbol.for('looppool.workerProcess');

/**
 * True when this module is the one `node` was asked to run, argv[1] (an absolute path): its URL
 * is argv[1]'s real path, or argv[1] itself under `--preserve-symlinks-main`. Only the first copy
 * to ask gets true: a worker module can load this file a second time under another path that
 * leads to the same file (the pool's copy reached through a symlink, the worker's through the
 * real path, with `--preserve-symlinks`), and that copy must not start a second worker.
 */
function isProcessEntry(): boolean {
  const main = process.argv[1];
  const flags = globalThis as { [STARTED]?: true };
  if (main === undefined || flags[STARTED]) return false;
  const { realpathSync } = process.getBuiltinModule('node:fs');
  const { fileURLToPath } = process.getBuiltinModule('node:url');
  try {
    const self = fileURLToPath(import.meta.url);
    if (self !== main && self !== realpathSync(main)) return false;
  } catch {
    return false; // argv[1] names no file (node -e, a REPL), or a bundler left this file no URL
  }
  flags[STARTED] = true;
  return true;
}

// Not awaited at the top level: a module with top-level await cannot be require()d, and a
// CommonJS worker module require()s this one (`looppool/worker`). A failure to start rejects
// here unhandled, which ends the process with the error, as the parent expects.
if (isProcessEntry()) void startWorkerProcess();
