/**
 * The output records of `looppool run --bullmq`, one JSON object per finished job attempt:
 *   {"job": "17", "attempt": 1, "result": …}   the task returned; BullMQ completes the job
 *   {"job": "18", "attempt": 1, "error": {…}}  the task failed; BullMQ fails the job (or retries it)
 * and one per result a task streams (`ctx.putResult`), before its attempt's record; as a local run's:
 *   {"job": "17", "attempt": 1, "extra": …}    (`extraError` when JSON cannot write it)
 *   {"extra": …}                              streamed with this.putResult, outside any task
 * The `error` object is the one `looppool run` writes for a line (origin, name, message, code, …).
 */
import { jsonReplacer, outputError, recordLine, taskError, type ErrorInfo } from '../run/records.ts';

/** The record of a completed attempt. @throws when `value` cannot be written as JSON (a cycle). */
export function completedRecord(jobId: string, attempt: number, value: unknown): string {
  const json = JSON.stringify(value === undefined ? null : value, jsonReplacer) ?? 'null';
  return `{"job":${JSON.stringify(jobId)},"attempt":${attempt},"result":${json}}\n`;
}

/** The record of a failed attempt: `error` is what the consumer failed the job with. */
export function failedRecord(jobId: string, attempt: number, error: Error): string {
  return errorRecord(jobId, attempt, failureInfo(error));
}

/** The record of a completed attempt whose value is not JSON (BullMQ could not store it either). */
export function unwritableRecord(jobId: string, attempt: number, error: unknown): string {
  return errorRecord(jobId, attempt, outputError(error));
}

/** The record of a streamed result: of a job's attempt, or (`null`) of no task; `extraError` when JSON cannot write it. */
export function extraRecord(attempt: { readonly jobId: string; readonly attempt: number } | null, value: unknown): string {
  let text: string;
  try {
    text = recordLine(null, 'extra', value);
  } catch (error) {
    text = `{"extraError":${JSON.stringify(outputError(error))}}\n`;
  }
  // `{"extra":…}` keyed like the attempt's other records: the job and attempt go first.
  return attempt === null ? text : `{"job":${JSON.stringify(attempt.jobId)},"attempt":${attempt.attempt},${text.slice(1)}`;
}

/**
 * The consumer fails a job with a `JobFailedError` (or BullMQ's `UnrecoverableError`) whose
 * `cause` is the pool's error: describe that one, as `looppool run` does (a task error shows
 * the worker's own error; a crash, a timeout… the pool's).
 */
export function failureInfo(error: Error): ErrorInfo {
  return taskError(error.cause instanceof Error ? error.cause : error);
}

function errorRecord(jobId: string, attempt: number, info: ErrorInfo): string {
  return `{"job":${JSON.stringify(jobId)},"attempt":${attempt},"error":${JSON.stringify(info, jsonReplacer)}}\n`;
}
