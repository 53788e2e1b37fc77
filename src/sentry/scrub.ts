/**
 * The `beforeSend` hook of looppool's Sentry client: task payloads stay out of events. Our own
 * captures never attach a payload; this removes the places where one can slip in anyway.
 */
import type { ErrorEvent, StackFrame } from '@sentry/node';

/**
 * Remove from `event` (in place, and returned):
 * - local variables of stack frames (`vars`): `processMessage(task, ctx)` holds the payload;
 * - `extra.__serialized__`: the SDK's copy of a thrown non-Error value, which is often the task;
 * - request bodies and cookies, should an HTTP integration of the user's add them;
 * - breadcrumbs: in a worker they come from the application's own Sentry set-up, mix every
 *   concurrent task, and a `console.log(task)` breadcrumb is the payload itself.
 */
export function scrubEvent(event: ErrorEvent): ErrorEvent {
  for (const exception of event.exception?.values ?? []) stripVars(exception.stacktrace?.frames);
  for (const thread of event.threads?.values ?? []) stripVars(thread.stacktrace?.frames);
  if (event.extra && '__serialized__' in event.extra) {
    const { __serialized__: _dropped, ...rest } = event.extra;
    event.extra = rest;
  }
  delete event.breadcrumbs;
  if (event.request) {
    delete event.request.data;
    delete event.request.cookies;
  }
  return event;
}

function stripVars(frames: StackFrame[] | undefined): void {
  for (const frame of frames ?? []) delete frame.vars;
}
