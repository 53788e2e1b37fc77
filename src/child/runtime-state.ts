/**
 * The states of a worker process's runtime (runtime.ts), in order, and what `this.putResult` is
 * told in the states that deliver no result.
 */

/**
 * waiting (for init) → initializing → running → stopping (the pill; a SafeWorker drains) →
 * disposing (`dispose()`, the last metrics) → exiting (flushing, then exit). Any state may go
 * straight to exiting (a failed init, an escaped error, a message it cannot read).
 */
export type RuntimeState = 'waiting' | 'initializing' | 'running' | 'stopping' | 'disposing' | 'exiting';

/** Why `this.putResult` is refused outside running and stopping (see the runtime's #sendResult). */
export const NOT_DELIVERING: Readonly<Record<Exclude<RuntimeState, 'running' | 'stopping'>, string>> = {
  waiting: 'has not returned from initialize() yet',
  initializing: 'has not returned from initialize() yet',
  disposing: 'has stopped (dispose() has begun)',
  exiting: 'is exiting',
};
