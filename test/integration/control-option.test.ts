/**
 * The pool's `control` option: the pool opens its control channel (src/control) once its
 * workers are up and closes it when it stops; a channel that cannot open leaves the pool running.
 */
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, afterEach, describe, expect, it, vi } from 'vitest';
import { controlRequest, listControlSockets } from '../../src/control/index.ts';
import { ownControlDir } from '../../src/control/runtime-dir.ts';
import { makePool } from '../helpers/pools.ts';

// Made before the first test, not at import: a run that filters out every test imports the
// file but runs none of its hooks, and the directory was left behind.
let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lpo-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// The control directory is $XDG_RUNTIME_DIR/looppool when that directory exists: each test gets its own.
const saved = process.env.XDG_RUNTIME_DIR;
afterEach(() => {
  if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
  else process.env.XDG_RUNTIME_DIR = saved;
  vi.restoreAllMocks();
});
function freshRuntimeDir(): string {
  const dir = mkdtempSync(path.join(tmp, 'run-'));
  process.env.XDG_RUNTIME_DIR = dir;
  return dir;
}

describe('the control option', () => {
  it('opens a control channel that answers for the pool while it runs, and removes it when the pool stops', async () => {
    const runtime = freshRuntimeDir();
    const pool = makePool({ worker: 'echo.mjs', size: 1, name: 'ctl', control: true });
    await pool.start();
    const sockets = listControlSockets(path.join(runtime, 'looppool'));
    expect(sockets).toEqual([{ pid: process.pid, name: 'ctl', instance: 1, path: expect.stringContaining(`${process.pid}@ctl.sock`) }]);
    expect(await pool.run(1)).toBe(1);
    const socket = (sockets[0] as { path: string }).path;
    expect(await controlRequest(socket, { op: 'stats' })).toMatchObject({ name: 'ctl', pid: process.pid, state: 'running', size: 1, done: 1 });
    await pool.stop();
    expect(existsSync(socket)).toBe(false);
  });

  // `su` without `-` and `sudo -E` keep the previous user's XDG_RUNTIME_DIR. Before: a pool run as
  // root there made <it>/looppool root's, and every pool of that user was then refused a channel
  // ("belongs to uid 0"); another user got EACCES there and no channel.
  it("does not use an XDG_RUNTIME_DIR that is another user's: <tmpdir>/looppool-<uid> instead", async () => {
    const uid = process.getuid?.() as number;
    // Someone else's directory: root can give one away; for anyone else, / is root's.
    const foreign = uid === 0 ? mkdtempSync(path.join(tmp, 'other-')) : '/';
    if (uid === 0) chownSync(foreign, 65534, 65534);
    expect(ownControlDir({ XDG_RUNTIME_DIR: foreign })).toBe(path.join(os.tmpdir(), `looppool-${uid}`));
    const own = mkdtempSync(path.join(tmp, 'own-'));
    expect(ownControlDir({ XDG_RUNTIME_DIR: own })).toBe(path.join(own, 'looppool'));
    process.env.XDG_RUNTIME_DIR = foreign;
    const pool = makePool({ worker: 'echo.mjs', size: 1, name: 'foreignxdg', control: true });
    await pool.start();
    expect(existsSync(path.join(foreign, 'looppool'))).toBe(false);
    expect(listControlSockets(path.join(os.tmpdir(), `looppool-${uid}`)).filter((s) => s.pid === process.pid && s.name === 'foreignxdg')).toHaveLength(1);
    await pool.stop();
  });

  it('opens none without it', async () => {
    const runtime = freshRuntimeDir();
    const pool = makePool({ worker: 'echo.mjs', size: 1, name: 'quiet' });
    expect(await pool.run(1)).toBe(1);
    expect(existsSync(path.join(runtime, 'looppool'))).toBe(false);
  });

  it('starts the pool all the same when the channel cannot open, and says why on stderr', async () => {
    const runtime = freshRuntimeDir();
    writeFileSync(path.join(runtime, 'looppool'), ''); // a file where the channel's directory should be
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: any[]) => {
      lines.push(String(chunk));
      return write(chunk, ...rest);
    });
    const pool = makePool({ worker: 'echo.mjs', size: 1, name: 'noctl', control: true });
    await pool.start();
    expect(await pool.run(2)).toBe(2);
    expect(lines.filter((l) => l.startsWith('looppool noctl: the control channel could not be opened: '))).toHaveLength(1);
    expect(pool.stats().state).toBe('running');
  });
});
