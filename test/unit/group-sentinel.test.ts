import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { SENTINEL_SCRIPT } from '../../src/parent/group-sentinel.ts';

describe('the group sentinel', () => {
  // Before: the shell kept a variable and a list entry for every group it was ever given, taken
  // off or not: it lives as long as one worker that started a process runs, and grew by about
  // 120 bytes per worker replacement (10,000 replacements: 1.7 -> 2.9 MB), for good.
  it('keeps nothing of a group taken off its list, and kills the groups still listed when its input ends', async () => {
    const listed = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' }); // a group of its own, led by it
    const killedBy = new Promise((resolve) => listed.once('exit', (_code, signal) => resolve(signal)));
    expect(listed.pid).toBeGreaterThan(0);
    // Ids above any Linux pid_max (at most 2^22): no process or group has them, whatever the script does with them.
    const ids = Array.from({ length: 500 }, (_, i) => 5_000_000 + i);
    // `set` after the script prints every variable the shell still holds once it is done.
    const shell = spawn('/bin/sh', ['-c', `${SENTINEL_SCRIPT}\nset`], { stdio: ['pipe', 'pipe', 'inherit'] });
    let variables = '';
    shell.stdout.setEncoding('utf8').on('data', (chunk: string) => (variables += chunk));
    shell.stdin.end(`${ids.map((id) => `+${id}\n`).join('')}${ids.map((id) => `-${id}\n`).join('')}+${listed.pid}\n`);
    await once(shell, 'close');
    expect(await killedBy).toBe('SIGKILL');
    expect(variables).toContain(String(listed.pid));
    expect(ids.filter((id) => variables.includes(String(id)))).toEqual([]);
  });

  it('never lists group 0 or 1, nor an id with a leading zero: kill -- -1 from root ends every process of the machine', async () => {
    // A `kill` of the shell's own stands in for the real one: a script that listed 1 must not be run with it.
    const shell = spawn('/bin/sh', ['-c', `kill() { echo "kill $*"; }\n${SENTINEL_SCRIPT}`], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    shell.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    shell.stdin.end('+1\n+0\n+01\n+007\n+5000001\n');
    await once(shell, 'close');
    expect(out).toBe('kill -s KILL -- -5000001\n');
  });
});
