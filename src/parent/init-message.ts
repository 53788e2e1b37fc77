/** The `init` message a worker is sent in answer to its `hello`: the pool's settings for it. */
import { PROTOCOL, type InitMessage } from '../protocol/messages.ts';
import type { ResolvedPoolOptions } from '../options.ts';
import type { WorkerInitExtras } from './handle-events.ts';

/** JSON text of worker `number`'s init, without `value` (workerData), which the caller adds as the pool encoded it once for every worker. */
export function initMessageText(number: number, o: ResolvedPoolOptions, extras: WorkerInitExtras): string {
  const init: Omit<InitMessage, 'value'> = {
    kind: 'init',
    protocol: PROTOCOL,
    worker: number,
    name: o.name,
    module: o.workerUrl,
    maxMessageBytes: o.maxMessageBytes,
    restartOnError: o.restartOnError,
    ...(o.sentry === undefined ? {} : { sentry: o.sentry }),
    ...extras,
  };
  return JSON.stringify(init);
}
