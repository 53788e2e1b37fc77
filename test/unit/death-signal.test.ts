import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findDeathSignalLauncher, underDeathSignal } from '../../src/parent/death-signal.ts';

describe('the kernel death signal (setpriv --pdeathsig)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  /** A directory holding an executable (or not) `setpriv` whose bytes include `text`. */
  const binDir = (text: string, mode = 0o755): string => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-setpriv-'));
    dirs.push(dir);
    writeFileSync(path.join(dir, 'setpriv'), `#!/bin/sh\n# ${text}\n`);
    chmodSync(path.join(dir, 'setpriv'), mode);
    return dir;
  };
  const recent = ' --pdeathsig keep|clear|<signame>  set or clear parent death signal';

  it('takes the first setpriv on PATH when its help names --pdeathsig', () => {
    const dir = binDir(recent);
    expect(findDeathSignalLauncher([dir, binDir('no such option here')].join(path.delimiter))).toBe(path.join(dir, 'setpriv'));
  });

  it('refuses a setpriv too old for the flag, and stops at it (no later one is used)', () => {
    expect(findDeathSignalLauncher([binDir(' --reuid <uid>  set real uid'), binDir(recent)].join(path.delimiter))).toBeNull();
  });

  it('skips what is not executable, relative directories, and an empty PATH', () => {
    const dir = binDir(recent);
    expect(findDeathSignalLauncher([binDir(recent, 0o644), dir].join(path.delimiter))).toBe(path.join(dir, 'setpriv'));
    expect(findDeathSignalLauncher(['relative/bin', '.'].join(path.delimiter))).toBeNull();
    expect(findDeathSignalLauncher('')).toBeNull();
  });

  it('runs the command as it is, after the signal is set', () => {
    expect(underDeathSignal('/usr/bin/node', ['--expose-gc', 'main.js', 'x'])).toEqual(['--pdeathsig', 'KILL', '--', '/usr/bin/node', '--expose-gc', 'main.js', 'x']);
  });
});
