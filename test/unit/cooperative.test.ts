import { describe, expect, it } from 'vitest';
import { whenIdle, yieldToLoop } from '../../src/cooperative.ts';
import { changingGetter, expectUnreadable, failureOf, throwingGetter } from '../helpers/getters.ts';

describe('cooperative helpers', () => {
  it('yieldToLoop lets pending timers and I/O callbacks run before it resolves', async () => {
    const order: string[] = [];
    setImmediate(() => order.push('immediate queued before'));
    await yieldToLoop();
    order.push('after yield');
    expect(order).toEqual(['immediate queued before', 'after yield']);
  });

  it('yieldToLoop called from an I/O callback (where tasks start) lets a timer that expired meanwhile run first', async () => {
    const { readFile } = await import('node:fs');
    const fired = await new Promise<boolean>((resolve) => {
      readFile(import.meta.filename, () => {
        let timer = false;
        setTimeout(() => (timer = true), 1);
        const until = performance.now() + 20;
        while (performance.now() < until); // CPU work: the timer expires meanwhile
        void yieldToLoop().then(() => resolve(timer));
      });
    });
    expect(fired).toBe(true);
  });

  it('whenIdle resolves true once the loop has waited for work', async () => {
    expect(await whenIdle()).toBe(true);
  });

  it('whenIdle resolves false when the loop stays busy until the timeout', async () => {
    // Keep the loop busy: a chain of immediates that never lets it wait in poll.
    let busy = true;
    const spin = (): void => {
      const until = Date.now() + 2;
      while (Date.now() < until);
      if (busy) setImmediate(spin);
    };
    setImmediate(spin);
    try {
      expect(await whenIdle({ timeout: 100 })).toBe(false);
    } finally {
      busy = false;
    }
  });

  it.each([
    [500, /Expected the options of whenIdle\(\) to be an object such as \{ timeout: 1000 \}, got 500 \(number\)/],
    [null, /got null \(null\)/],
    [{ timeout: '500' }, /Expected `timeout` of whenIdle\(\) to be a number of ms >= 0 \(or Infinity\), got '500' \(string\)/],
    [{ timeout: -5 }, /got -5 \(number\)/],
    [{ timeout: Number.NaN }, /got NaN \(number\)/],
    [{ timout: 5 }, /Unknown option `timout` of whenIdle\(\) \(it takes `timeout`\)/],
    // Objects without own keys, read as {}: they resolved, as if no option had been given.
    [[], /to be an object such as \{ timeout: 1000 \}, got an array/],
    [new Map([['timeout', 5]]), /got a Map/],
    [new Date(), /got a Date/],
  ])('whenIdle(%o) rejects with a TypeError saying what is wrong', async (options, message) => {
    // Before: a number was ignored (no timeout), '500' was concatenated, NaN and a typo never timed out.
    await expect(whenIdle(options as { timeout?: number })).rejects.toThrow(message);
    await expect(whenIdle(options as { timeout?: number })).rejects.toBeInstanceOf(TypeError);
  });

  // Before: the getter's own error surfaced, naming no option; and the timeout was read twice (checked, then used).
  it('whenIdle reads its timeout once: a getter that throws rejects with a TypeError naming it, with what it threw as cause', async () => {
    const cause = new Error('config not loaded');
    expectUnreadable(await failureOf(() => whenIdle(throwingGetter({}, 'timeout', cause))), 'timeout', cause);
    const timeout = changingGetter({}, 'timeout', [60_000, 'x']);
    expect(await whenIdle(timeout.options)).toBe(true);
    expect(timeout.reads()).toBe(1);
    // A Proxy whose every read throws (its Symbol.toStringTag too): before, the trap's error surfaced.
    const trapped = await failureOf(() => whenIdle(new Proxy({}, { get: () => { throw cause; } })));
    expect(trapped).toBeInstanceOf(TypeError);
    expect(trapped).toMatchObject({ message: 'Expected the options to be readable, got an error when listing their keys (Error: config not loaded)', cause });
  });
});
