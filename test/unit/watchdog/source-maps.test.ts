import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SourceMapCache } from '../../../src/child/watchdog/source-maps.ts';

// Generated line 1 (0-based), column 0 → source 0, line 2, column 2 (0-based): "AAEE".
const map = { version: 3, file: 'gen.js', sources: ['orig.ts'], names: [], mappings: ';AAEE' };
const script = 'file:///app/dist/gen.js';
const base64 = (json: object): string => `data:application/json;charset=utf-8;base64,${Buffer.from(JSON.stringify(json)).toString('base64')}`;

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('SourceMapCache', () => {
  it('maps through an inline base64 source map (what tsx emits) to 1-based source positions', () => {
    expect(new SourceMapCache().map(script, base64(map), 1, 0)).toEqual({ url: 'file:///app/dist/orig.ts', line: 3, column: 3 });
  });

  it('maps through a URI-encoded inline map and honours sourceRoot', () => {
    const url = `data:application/json,${encodeURIComponent(JSON.stringify({ ...map, sourceRoot: '../src' }))}`;
    expect(new SourceMapCache().map(script, url, 1, 0)).toEqual({ url: 'file:///app/src/orig.ts', line: 3, column: 3 });
  });

  it('reads a .map file next to the script', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'looppool-sourcemap-'));
    writeFileSync(path.join(dir, 'gen.js.map'), JSON.stringify(map));
    const local = pathToFileURL(path.join(dir, 'gen.js')).href;
    expect(new SourceMapCache().map(local, 'gen.js.map', 1, 0)).toEqual({ url: pathToFileURL(path.join(dir, 'orig.ts')).href, line: 3, column: 3 });
  });

  it.each([
    ['no source map', ''],
    ['a map on the network', 'https://example.invalid/gen.js.map'],
    ['a missing map file', 'missing.js.map'],
    ['a broken inline map', 'data:application/json;base64,bm90IGpzb24='],
  ])('keeps the generated position with %s', (_what, sourceMapURL) => {
    expect(new SourceMapCache().map(script, sourceMapURL, 4, 9)).toEqual({ url: script, line: 5, column: 10 });
  });

  it('keeps the generated position where the map has no entry', () => {
    expect(new SourceMapCache().map(script, base64({ ...map, mappings: '' }), 0, 0)).toEqual({ url: script, line: 1, column: 1 });
  });
});
