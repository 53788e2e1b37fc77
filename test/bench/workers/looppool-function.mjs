import { handle } from '../handler.mjs';

/**
 * looppool's benchmark worker as a plain function (workload E, `looppool-fn`): the shape every
 * peer's worker has, importing nothing of looppool's. The pool wraps it in a `Worker`.
 */
export default function echo(task) {
  return handle(task);
}
