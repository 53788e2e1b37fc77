import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'looppool';
import { fixture, makePool } from '../helpers/pools.ts';

// A worker that cannot exist passed `new Pool()` and failed each worker's start (stage 'load'):
// the constructor now refuses it, naming the resolved path and why.
describe('the worker option names an existing file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-worker-option-'));
    mkdirSync(path.join(dir, 'workers'));
    symlinkSync(fixture('echo.mjs'), path.join(dir, 'echo-link.mjs'));
    symlinkSync(path.join(dir, 'gone.mjs'), path.join(dir, 'broken-link.mjs'));
    writeFileSync(path.join(dir, 'file'), '');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['a missing file', () => path.join(dir, 'nope.mjs'), () => `no such file: ${path.join(dir, 'nope.mjs')}`],
    ['a missing file as a file: URL', () => pathToFileURL(path.join(dir, 'nope.mjs')), () => `no such file: ${path.join(dir, 'nope.mjs')}`],
    ['a missing file as a file: URL string', () => pathToFileURL(path.join(dir, 'nope.mjs')).href, () => `no such file: ${path.join(dir, 'nope.mjs')}`],
    ['a path through a regular file', () => path.join(dir, 'file', 'w.mjs'), () => `no such file: ${path.join(dir, 'file', 'w.mjs')}`],
    ['a broken symlink', () => path.join(dir, 'broken-link.mjs'), () => `no such file: ${path.join(dir, 'broken-link.mjs')}`],
    ['a directory', () => path.join(dir, 'workers'), () => `${path.join(dir, 'workers')} is a directory`],
    ['a directory as a file: URL', () => pathToFileURL(path.join(dir, 'workers')), () => `${path.join(dir, 'workers')} is a directory`],
    ['something other than a regular file', () => '/dev/null', () => '/dev/null is not a regular file'],
  ])('refuses %s with a TypeError naming the resolved path', (_what, worker, reason) => {
    const create = () => new Pool({ worker: worker(), size: 1 });
    expect(create).toThrow(TypeError);
    expect(create).toThrow(/^Expected `worker` to be the path or file: URL of an existing file, got (`.*` \(string\)|the URL "file:.*"): /);
    expect(create).toThrow(reason());
  });

  it.each(['file', 'FILE', 'File'])('refuses a relative %s: URL string, which names a file under the root, and says how to write it', (scheme) => {
    const create = () => new Pool({ worker: `${scheme}:w.mjs`, size: 1 });
    expect(create).toThrow(TypeError);
    expect(create).toThrow(
      `Expected \`worker\` to be an absolute file: URL or a file path, got \`"${scheme}:w.mjs"\` (string): a relative file: URL, read as /w.mjs (give the path w.mjs, or file:///…/w.mjs)`,
    );
    expect(() => new Pool({ worker: `${scheme}:./w.mjs`, size: 1 })).toThrow('a relative file: URL, read as /w.mjs (give the path ./w.mjs');
  });

  it('refuses a file: URL with a host, which is no local file, as a URL and as a string in any case', () => {
    const create = () => new Pool({ worker: new URL('file://server/share/w.mjs'), size: 1 });
    expect(create).toThrow(TypeError);
    expect(create).toThrow(/^Expected `worker` to be a file: URL of a local file, got the URL "file:\/\/server\/share\/w.mjs": /);
    const string = () => new Pool({ worker: 'FILE://server/share/w.mjs', size: 1 });
    expect(string).toThrow(TypeError);
    expect(string).toThrow(/^Expected `worker` to be a file: URL of a local file, got `"FILE:\/\/server\/share\/w.mjs"` \(string\): /);
  });

  // URL schemes are case-insensitive (new URL('FILE:///x').protocol is 'file:'): before, an upper
  // case one was refused as no file path or file: URL.
  it('takes an absolute file: URL string in any spelling the URL parser reads as one: any case of the scheme, file://localhost, backslashes', async () => {
    const href = pathToFileURL(fixture('echo.mjs')).href; // file:///…/echo.mjs
    const rest = href.slice('file://'.length);
    const spellings = [`FILE://${rest}`, `File:${rest}`, `fIlE://localhost${rest}`, `FILE:/${rest.slice(1).replaceAll('/', '\\')}`];
    const pools = spellings.map((worker) => makePool({ worker, size: 1 }));
    expect(await Promise.all(pools.map((pool, i) => pool.run(`spelling ${i}`)))).toEqual(spellings.map((_, i) => `spelling ${i}`));
    await Promise.all(pools.map((pool) => pool.stop()));
  });

  it('takes a symlink to a worker file, as a path and as a file: URL', async () => {
    const link = path.join(dir, 'echo-link.mjs');
    const pools = [makePool({ worker: link, size: 1 }), makePool({ worker: pathToFileURL(link).href, size: 1 })];
    expect(await Promise.all(pools.map((pool, i) => pool.run(`via link ${i}`)))).toEqual(['via link 0', 'via link 1']);
    await Promise.all(pools.map((pool) => pool.stop()));
  });
});
