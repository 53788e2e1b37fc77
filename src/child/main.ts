/**
 * Entry of every worker process (what the pool forks), and `looppool/worker` itself: one file
 * for both, so that a worker module's `import ... from 'looppool/worker'` finds it already
 * loaded instead of loading a file of its own (and the chunk it would share with this one).
 * It starts the worker only when it is the process's main module: a process that merely imports
 * `looppool/worker` (a test of a Worker class, say) gets the API and nothing else.
 */
import { isProcessEntry, startWorkerProcess } from './start.ts';

export * from './index.ts';

// Not awaited at the top level: a module with top-level await cannot be require()d, and a
// CommonJS worker module require()s this one (`looppool/worker`). A failure to start rejects
// here unhandled, which ends the process with the error, as the parent expects.
if (isProcessEntry(import.meta.url)) void startWorkerProcess();
