/** `npm run bench`'s command line: its help, and a clear refusal of what it cannot run (no benchmark runs here). */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const runner = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'run.mjs');
const bench = (...args: string[]) => spawnSync(process.execPath, [runner, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('npm run bench -- <options>', () => {
  it('--help prints every option and exits 0 without running anything', () => {
    const { status, stdout, stderr } = bench('--help');
    expect(status).toBe(0);
    for (const option of ['--quick', '--repeats', '--systems', '--workloads', '--json', '--timeout', '--settle', '--help']) expect(stdout).toContain(option);
    expect(stdout).toContain('tinypool+env'); // the systems are listed by id
    expect(stderr).toBe('');
  });

  it.each([
    [['--bogus'], "Unknown option '--bogus'"],
    [['--repeats', '0'], '--repeats must be an integer >= 1, got "0"'],
    [['--repeats', '2.5'], '--repeats must be an integer >= 1, got "2.5"'],
    [['--timeout', 'soon'], '--timeout must be a number >= 1, got "soon"'],
    [['--settle=-1'], '--settle must be a number >= 0, got "-1"'],
    [['--workloads', 'A,Z'], '--workloads: unknown Z'],
    [['--systems', 'looppool,nope'], '--systems: unknown nope'],
  ])('%j is refused with one line saying why, the usage, and exit code 2', (args, reason) => {
    const { status, stdout, stderr } = bench(...args);
    expect(status).toBe(2);
    expect(stderr.split('\n')[0]).toContain(`bench: ${reason}`);
    expect(stderr).toContain('Usage: npm run bench');
    expect(stdout).toBe('');
  });
});

describe('node test/bench/profile.mjs <options>', () => {
  const profile = (...args: string[]) => spawnSync(process.execPath, [path.resolve(path.dirname(runner), 'profile.mjs'), ...args], { encoding: 'utf8', timeout: 30_000 });

  it('--help prints its usage and exits 0; an unknown option gets one line saying why and exit 2, no stack trace', () => {
    const help = profile('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: node test\/bench\/profile\.mjs \[--workload A\]/);
    const bad = profile('--bogus');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("profile: Unknown option '--bogus'\nusage: node test/bench/profile.mjs [--workload A] [--n 1000000] [--system looppool] [--top 25]\n");
  });
});
