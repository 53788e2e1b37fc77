/**
 * Options objects with getters, for the tests that every options object of the API is read once:
 * one whose getter throws, and one whose getter answers differently at each read and counts them.
 */
import { expect } from 'vitest';

/** `base` with an enumerable getter for `key` that throws `error`. */
export function throwingGetter<T extends object>(base: T, key: string, error: unknown): T {
  return Object.defineProperty({ ...base }, key, {
    enumerable: true,
    get(): never {
      throw error;
    },
  });
}

/**
 * `base` with an enumerable getter for `key` that returns `values` one after the other (then the
 * last one again), and `reads()`, how many times it ran: what was checked with the first value
 * and used with the second shows as a second read.
 */
export function changingGetter<T extends object>(base: T, key: string, values: readonly unknown[]): { options: T; reads: () => number } {
  let count = 0;
  const options = Object.defineProperty({ ...base }, key, {
    enumerable: true,
    get(): unknown {
      return values[Math.min(count++, values.length - 1)];
    },
  });
  return { options, reads: () => count };
}

/** What `attempt` threw or rejected with (undefined if neither). */
export async function failureOf(attempt: () => unknown): Promise<unknown> {
  try {
    await attempt();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** `error` is the TypeError of a getter that threw `cause` when option `name` (with its prefix) was read. */
export function expectUnreadable(error: unknown, name: string, cause: Error): void {
  expect(error).toBeInstanceOf(TypeError);
  expect((error as Error).message).toBe(`Expected \`${name}\` to be readable, got an error when reading it (${cause.name}: ${cause.message})`);
  expect((error as Error).cause).toBe(cause);
}
