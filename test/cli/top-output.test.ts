/** `looppool top` (and `ps`) when its output goes away (a reader such as `head` that has read enough) or cannot be written. */
import { closeSync, openSync } from 'node:fs';
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

  // `looppool ps --json > pools.json` on a full disk exited 0 and left an empty file.
  it.each([[['ps']], [['ps', '--json']], [['top', '-n', '1']]])('%j exits 1 and says why when its output cannot be written (ENOSPC)', async (args) => {
    const full = openSync('/dev/full', 'w');
    try {
      const cli = startCli(args, { stdout: full });
      expect(await cli.exit(20_000)).toEqual({ code: 1, signal: null });
      expect(cli.stderr).toMatch(new RegExp(`^looppool ${args[0]}: cannot write the output: ENOSPC`, 'm'));
    } finally {
      closeSync(full);
    }
  });
});
