/**
 * One task, from its call to its answer: `processMessage` is called and what it returns is adopted
 * as `await` would adopt it (a throw, or a `then` that throws, fails the task), and the answer
 * goes to the parent: the value encoded once (a value that cannot be sent fails the task
 * instead). The runtime decides whether a task may start and whether its answer is still wanted.
 */
import { DONE } from '../protocol/messages.ts';
import { serializeError } from '../protocol/serialized-error.ts';
import type { Channel } from '../transport/channel.ts';
import { encodePayload } from '../transport/encode.ts';
import type { RuntimeTaskContext } from './task-context.ts';
import type { Worker } from './worker.ts';

/** Where a task's outcome goes: the runtime's own done and fail. */
export interface TaskSettler {
  done(ctx: RuntimeTaskContext, value: unknown): void;
  fail(ctx: RuntimeTaskContext, err: unknown): void;
}

/** Call `worker.processMessage(payload, ctx)`, then settle the task with its outcome. */
export function callProcessMessage(worker: Worker, payload: unknown, ctx: RuntimeTaskContext, settler: TaskSettler): void {
  let outcome: unknown;
  let thenable: boolean;
  try {
    outcome = worker.processMessage(payload, ctx);
    // Reading `then` runs code too (a getter, a Proxy): it fails the task, as `await` would.
    thenable = outcome !== null && (typeof outcome === 'object' || typeof outcome === 'function') && typeof (outcome as PromiseLike<unknown>).then === 'function';
  } catch (err) {
    settler.fail(ctx, err);
    return;
  }
  // Adopted as `await` adopts it: a `then` that throws rejects the task (called directly, its
  // throw went up through the channel's reader and ended the worker with every task on it).
  if (thenable) Promise.resolve(outcome).then((value) => settler.done(ctx, value), (err: unknown) => settler.fail(ctx, err));
  else settler.done(ctx, outcome);
}

/** Send task `id`'s answer, `value`; one that cannot be encoded fails the task (`unsendable`). */
export function sendDone(channel: Channel, id: number, value: unknown, maxMessageBytes: number): void {
  let encoded: string | Buffer;
  try {
    encoded = value === undefined ? '' : encodePayload(value, 'result', maxMessageBytes);
  } catch (err) {
    channel.send({ kind: 'taskFailed', id, error: serializeError(err), unsendable: true }, true);
    return;
  }
  // A task's answer may pass other tasks' big answers still queued, never its own streamed
  // results: those keep their place, and nothing passes them (see Channel).
  if (typeof encoded === 'string') channel.sendTuple(DONE, id, undefined, encoded, true);
  else channel.sendTupleWithClone(DONE, id, undefined, encoded, true);
}
