/**
 * Loads `bullmq` on first use. It is an optional peer dependency: nothing in looppool imports it
 * statically (only its types), so a pool that never touches BullMQ never needs it installed.
 */
import { createRequire } from 'node:module';
import { BullmqMissingError } from './errors.ts';

/** The `bullmq` module namespace. */
export type BullmqModule = typeof import('bullmq');

let loading: Promise<BullmqModule> | undefined;

/**
 * Import `bullmq` (once per process).
 * @throws {BullmqMissingError} when `bullmq` is not installed.
 */
export function loadBullmq(): Promise<BullmqModule> {
  loading ??= importBullmq();
  return loading;
}

async function importBullmq(): Promise<BullmqModule> {
  try {
    return await import('bullmq');
  } catch (error) {
    loading = undefined; // installing it later in a long-lived process should work
    if (isModuleNotFound(error, 'bullmq')) throw new BullmqMissingError('bullmq', { cause: error });
    throw error;
  }
}

/**
 * BullMQ 6 turns connection options (host/port/url) into a client with `ioredis`, which it loads
 * lazily and reports only on the first Redis call. Check up front, from where BullMQ resolves it,
 * so the user gets one clear error at `start()`. A ready-made client instance needs no driver.
 * @throws {BullmqMissingError} when connection options are given and `ioredis` cannot be found.
 */
export function assertRedisDriver(connection: unknown): void {
  if (isClientInstance(connection)) return;
  try {
    createRequire(import.meta.resolve('bullmq')).resolve('ioredis');
  } catch (error) {
    throw new BullmqMissingError('ioredis', { cause: error });
  }
}

function isClientInstance(connection: unknown): boolean {
  return typeof connection === 'object' && connection !== null && typeof (connection as { duplicate?: unknown }).duplicate === 'function';
}

function isModuleNotFound(error: unknown, name: string): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return (
    (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') &&
    typeof e.message === 'string' &&
    e.message.includes(`'${name}'`)
  );
}
