/**
 * What makes two errors the same for the capture queue's per-key limit (src/sentry/error-key.ts):
 * name, message and stack down the cause chain, with long texts bounded.
 */
import { describe, expect, it } from 'vitest';
import { errorKey } from '../../../src/sentry/error-key.ts';

/** An error made at one site, as each task that fails there makes its own. */
function fail(message: string, cause?: unknown): Error {
  return new Error(message, { cause });
}

/** The key of the error `fail` makes, from one call site (the stack names the caller's line and column). */
function key(message: string, options: { kind?: string; cause?: unknown; name?: string } = {}): string | undefined {
  const error = fail(message, options.cause);
  if (options.name) error.name = options.name;
  return errorKey(options.kind ?? 'task', error);
}

describe('errorKey', () => {
  it('is the same for one error thrown by two tasks, and differs by kind, name, message and cause', () => {
    const causes = ['ECONNREFUSED', 'ETIMEDOUT'].map((code) => new Error(code));
    const cases: [string, Parameters<typeof key>[1]][] = [
      ['down', {}],
      ['down', {}],
      ['down', { kind: 'dispose' }],
      ['up', {}],
      ['down', { name: 'DatabaseError' }],
      ['down', { cause: causes[0] }],
      ['down', { cause: causes[1] }],
    ];
    const keys = cases.map(([message, options]) => key(message, options)); // one call site: the same stack
    expect(keys[1]).toBe(keys[0]);
    expect(new Set(keys.slice(1)).size).toBe(cases.length - 1);
  });

  it('stays small for an error with a huge message, and still tells apart two that differ at its end', () => {
    const huge = 'm'.repeat(40 * 1024 * 1024);
    const [first, other, again] = [`${huge} a`, `${huge} b`, `${huge} a`].map((message) => key(message));
    expect(first?.length).toBeLessThan(100_000); // whole, it was the message twice (its stack repeats it): 80 MiB
    expect(other).not.toBe(first);
    expect(again).toBe(first);
  });

  it('is undefined for an error whose properties throw when read', () => {
    const error = Object.defineProperty(new Error('x'), 'message', {
      get(): never {
        throw new Error('unreadable');
      },
    });
    expect(errorKey('task', error)).toBeUndefined();
  });
});
