/** Where `ps`, `top` and `stop` look for control sockets: only in a directory nobody else may write in. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.ts';
import { fixture, runCli, sleepTasks, startCli, uniqueName, workerPids } from './helpers.ts';

describe('control sockets', () => {
  it('are not taken from a control directory others may write in: a socket planted there for a pool is not its channel', async () => {
    // Before: ps showed the planted socket as the pool's channel; top read its figures, and stop's request went to it.
    const root = mkdtempSync(path.join(os.tmpdir(), 'lpc-trust-'));
    const dir = path.join(root, `looppool-${process.getuid?.() ?? 'user'}`);
    mkdirSync(dir);
    chmodSync(dir, 0o777); // as if someone else had made it, or could write in it
    const name = uniqueName('trust');
    const cli = startCli(['run', fixture('sleep.mjs'), '--size', '1', '--name', name, '--no-control'], {
      input: sleepTasks(1, 600_000),
      keepStdinOpen: true,
      detached: true,
    });
    const planted = net.createServer((socket) => socket.on('data', () => socket.write('{"id":1,"ok":true,"result":{"stopping":true,"drain":true}}\n')));
    try {
      await waitFor(() => workerPids(name).length === 1, `the worker of ${name}`);
      await new Promise<void>((resolve) => planted.listen(path.join(dir, `${cli.pid}@${name}.sock`), resolve));
      const ps = await runCli(['ps', '--json', name], { env: { XDG_RUNTIME_DIR: '', TMPDIR: root } });
      expect(ps.code).toBe(0);
      expect(JSON.parse(ps.stdout)).toMatchObject([{ name, pid: cli.pid, control: null }]);
    } finally {
      await new Promise((resolve) => planted.close(resolve));
      rmSync(root, { recursive: true, force: true });
    }
  });
});
