/** `looppool top`'s arguments. */
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.ts';

describe('looppool top', () => {
  it('refuses an --interval longer than a timer can wait (exit 2), rather than redrawing every millisecond', async () => {
    // Before: Node took 3000000000 for 1 ms (TimeoutOverflowWarning), and top redrew without pause.
    const top = await runCli(['top', '--interval', '3000000000', '-n', '2']);
    expect(top.code).toBe(2);
    expect(top.stderr).toContain('--interval must be from 100 to 2147483647 ms, got "3000000000"');
    expect(top.stdout).toBe('');
  });
});
