/**
 * Entry of every worker process (what the pool forks), and `looppool/worker` itself: one file
 * for both, so that a worker module's `import ... from 'looppool/worker'` finds it already
 * loaded instead of loading a file of its own (and the chunk it would share with this one).
 * It starts the worker only when it is the process's main module: a process that merely imports
 * `looppool/worker` (a test of a Worker class, say) gets the API and nothing else.
 */
import { startWorkerProcess } from './start.ts';

export * from './index.ts';

/** True when this module is the one `node` was asked to run (argv[1], symlinks resolved). */
function isProcessEntry(): boolean {
  const main = process.argv[1];
  if (main === undefined) return false;
  const { realpathSync } = process.getBuiltinModule('node:fs');
  const { fileURLToPath } = process.getBuiltinModule('node:url');
  try {
    return realpathSync(main) === fileURLToPath(import.meta.url);
  } catch {
    return false; // argv[1] names no file (node -e, a REPL)
  }
}

if (isProcessEntry()) await startWorkerProcess();
