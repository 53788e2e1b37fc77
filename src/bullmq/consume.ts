/** `consume()`: a {@link BullmqConsumer} created and started in one call. */
import { BullmqConsumer } from './consumer.ts';
import type { ConsumablePool, ConsumerOptions } from './options.ts';

/**
 * Create a consumer for `pool` on `queueName` and start it.
 * @example
 * ```ts
 * const consumer = await consume(pool, 'images', { connection: 'redis://127.0.0.1:6379' });
 * ```
 */
export async function consume<TTask, TResult>(
  pool: ConsumablePool<TTask, TResult>, queueName: string, options: ConsumerOptions,
): Promise<BullmqConsumer<TTask, TResult>> {
  const consumer = new BullmqConsumer(pool, queueName, options);
  await consumer.start();
  return consumer;
}
