/**
 * What looppool's Sentry events may hold. Our own captures never attach a payload; the
 * `beforeSend` hook removes the places where one can slip in anyway, and each event's own
 * processor drops what the SDK merges in from the process's other scopes.
 */
import type { ErrorEvent, Event, EventHint, Scope, StackFrame } from '@sentry/node';

type ScopeData = ReturnType<Scope['getScopeData']>;

/** Contexts the SDK adds itself: its Node context integration's, and the trace. */
const SDK_CONTEXTS: ReadonlySet<string> = new Set(['app', 'os', 'device', 'culture', 'cloud_resource', 'runtime', 'trace']);

/**
 * The SDK merges the process's global and isolation scopes into every event, ours included: an
 * application's `Sentry.setUser`, `setTag`, `setContext`, `setExtra`, fingerprint, level or
 * attachments, set for its own events (a task's data among them, shared by every task in
 * flight), whether or not it called `Sentry.init()`. An event of looppool's keeps only `own`,
 * the data of the scope it was captured with, and the SDK's own contexts (in place; returned).
 */
export function keepOwnData(event: Event, hint: EventHint, own: ScopeData): Event {
  event.tags = { ...own.tags };
  const contexts = Object.entries(event.contexts ?? {}).filter(([key]) => SDK_CONTEXTS.has(key));
  event.contexts = { ...Object.fromEntries(contexts), ...own.contexts };
  replace(event, 'extra', own.extra);
  replace(event, 'user', own.user);
  if (own.fingerprint.length > 0) event.fingerprint = [...own.fingerprint];
  else delete event.fingerprint;
  if (own.level) event.level = own.level;
  delete event.transaction;
  hint.attachments = [...own.attachments];
  return event;
}

function replace(event: Event, key: 'extra' | 'user', own: object): void {
  if (Object.keys(own).length > 0) Object.assign(event, { [key]: { ...own } });
  else delete event[key];
}

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
