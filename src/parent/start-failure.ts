/** The `WorkerInitError` of a worker that failed to start, with the reason in its message. */
import { WorkerInitError } from '../errors.ts';

/**
 * @param reason why: the worker's own error (rebuilt), spawn()'s error, or what the pool saw
 * @param stage where its start failed
 */
export function startFailure(worker: number, pid: number, module: string, reason: unknown, stage: WorkerInitError['stage']): WorkerInitError {
  const cause = reason instanceof Error ? reason : new Error(String(reason));
  const code = (cause as { code?: unknown }).code;
  // Node's message says neither which process was refused nor which flag allows it.
  const hint = stage === 'spawn' && code === 'ERR_ACCESS_DENIED' ? " (Node's permission model: run the pool's process with --allow-child-process)" : '';
  const what = stage === 'spawn' ? 'could not start its process: ' : '';
  return new WorkerInitError(`Worker ${worker} failed to start ${module}: ${what}${cause.name}: ${cause.message}${hint}`, { worker, pid, module, stage }, { cause });
}
