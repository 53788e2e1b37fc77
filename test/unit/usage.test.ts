/** What `ps` and `top` measure of a process from outside (src/cli/proc/usage.ts). */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { forgetUsage, sampleUsage } from '../../src/cli/proc/usage.ts';

/** The state letter of `pid` in /proc (R, S, Z…), or undefined once it is gone. */
function stateOf(pid: number): string | undefined {
  try {
    return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

async function until(condition: () => boolean, what: string, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  forgetUsage();
});

describe.runIf(process.platform === 'linux')('sampleUsage', () => {
  it('measures a live process, and leaves out one that has no memory left (a zombie: before, 0 B in top)', async () => {
    // The shell starts `sleep 2` and execs into `sleep 30`, which never reaps it: a zombie once it
    // ends, until `sleep 30` does. (A `sleep 0` could end before the exec, and the shell reaped it
    // then: no zombie came, on a loaded machine.)
    const holder = spawn('/bin/sh', ['-c', 'sleep 2 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    started.push(holder.pid as number);
    const zombie = Number(await new Promise<string>((resolve) => holder.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
    await until(() => stateOf(zombie) === 'Z', 'the zombie');
    const usage = await sampleUsage([holder.pid as number, zombie]);
    expect(usage.get(holder.pid as number)?.rss).toBeGreaterThan(0);
    expect(usage.has(zombie)).toBe(false);
  });
});
