import { describe, expect, it } from 'vitest';
import { whenIdle, yieldToLoop } from '../../src/cooperative.ts';

describe('cooperative helpers', () => {
  it('yieldToLoop lets pending timers and I/O callbacks run before it resolves', async () => {
    const order: string[] = [];
    setImmediate(() => order.push('immediate queued before'));
    await yieldToLoop();
    order.push('after yield');
    expect(order).toEqual(['immediate queued before', 'after yield']);
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
});
