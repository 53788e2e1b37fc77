/** `looppool ps` and `top` print other processes' command lines: never their control characters raw. */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.ts';
import { runCli, uniqueName, workerPids } from './helpers.ts';

const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/; // any but the newline between lines

describe('looppool ps and top', () => {
  it('show control characters of a command line as ?, so that no process can drive the terminal of whoever lists the pools', async () => {
    // Before: the parent's command line went to the terminal as it was, escape sequences included.
    const name = uniqueName('esc');
    const parent = spawn('bash', ['-c', `exec -a "looppool ${name} worker 0" sleep 600 & wait`, 'bash', '\x1b]0;owned\x07\x1b[2J\x9b31m'], {
      stdio: 'ignore',
      detached: true,
    });
    try {
      await waitFor(() => workerPids(name).length === 1, `a process titled as a worker of ${name}`);
      const ps = await runCli(['ps', name]);
      expect(ps.stdout).toContain(`bash -c exec -a "looppool ${name} worker 0" sleep 600 & wait bash ?]0;owned??[2J?31m`);
      expect(ps.stdout).not.toMatch(CONTROL);
      const top = await runCli(['top', name, '-n', '1']);
      expect(top.stdout).toContain(`${name}  pid ${parent.pid}  bash -c`);
      expect(top.stdout).not.toMatch(CONTROL);
    } finally {
      process.kill(-(parent.pid as number), 'SIGKILL');
      await waitFor(() => workerPids(name).length === 0, `the processes of ${name} to be gone`);
    }
  });
});
