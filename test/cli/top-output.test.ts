/** `looppool top` when its output goes away: a reader such as `head` that has read enough. */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.ts';
import { startCli } from './helpers.ts';

describe('looppool top', () => {
  it('ends (exit 0) when the reader of its output closes it, as in looppool top | head', async () => {
    // Before: it went on drawing into the closed pipe every interval, for ever.
    const top = startCli(['top', '--interval', '100']);
    await waitFor(() => top.stdout.includes('looppool top ·'), 'the first screen');
    top.child.stdout?.destroy();
    expect(await top.exit(20_000)).toEqual({ code: 0, signal: null });
  });
});
