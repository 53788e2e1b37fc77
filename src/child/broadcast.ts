/** The worker's side of `pool.broadcast()` (parent/broadcaster.ts): the worker's reply, or its error, sent at once. */
import { serializeError } from '../protocol/serialized-error.ts';
import type { Channel } from '../transport/channel.ts';
import { encodePayload } from '../transport/encode.ts';
import type { Worker } from './worker.ts';

/** Answer broadcast `id` with what `worker.onBroadcast(message)` returns (nothing while there is no worker yet). */
export async function answerBroadcast(channel: Channel, worker: Worker | undefined, id: number, message: unknown, maxMessageBytes: number): Promise<void> {
  let replied = false;
  try {
    const value = await worker?.onBroadcast(message);
    replied = true;
    const encoded = value === undefined ? '' : encodePayload(value, 'broadcast reply', maxMessageBytes);
    channel.sendWithValue(`{"kind":"broadcastDone","id":${id}}`, encoded);
  } catch (err) {
    // Thrown by onBroadcast, or (replied) the SerializationError of a reply that cannot cross.
    channel.send(replied ? { kind: 'broadcastFailed', id, error: serializeError(err), unsendable: true } : { kind: 'broadcastFailed', id, error: serializeError(err) });
  }
  channel.flush(); // now, even while answers are held (see run-queue.ts)
}
