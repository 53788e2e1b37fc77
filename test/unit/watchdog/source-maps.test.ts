import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { findOriginal, MAX_MAP_BYTES, SourceMapCache } from '../../../src/child/watchdog/source-maps.ts';
import { prng } from '../../helpers/prng.ts';

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

describe('findOriginal', () => {
  // The maps the build wrote for dist/ (esbuild's, and tsc's for the watchdog thread), read with Node's own SourceMap as the reference.
  const dist = path.resolve(import.meta.dirname, '../../../dist/child');
  const maps = (readdirSync(dist, { recursive: true }) as string[]).filter((f) => f.endsWith('.js.map')).map((f) => JSON.parse(readFileSync(path.join(dist, f), 'utf8')) as SourceMapPayload);

  it('finds what Node\'s SourceMap finds, at every kind of position of real maps', () => {
    expect(maps.length).toBeGreaterThan(3);
    const random = prng(7);
    let compared = 0;
    for (const payload of maps) {
      const reference = new SourceMap(payload);
      const lines = payload.mappings.split(';').length;
      for (let k = 0; k < 300; k++) {
        const line0 = Math.floor(random() * lines);
        const column0 = Math.floor(random() * 120);
        const entry = reference.findEntry(line0, column0) as { generatedLine?: number; originalSource?: string; originalLine?: number; originalColumn?: number };
        const found = findOriginal(payload.mappings, line0, column0);
        // Node may answer with a segment of an earlier line; ours answers for this line only.
        if (entry.generatedLine !== line0 || entry.originalSource === undefined) continue;
        compared++;
        expect(found && { source: payload.sources[found.source], line: found.line, column: found.column }).toEqual({
          source: entry.originalSource.startsWith('file:') ? expect.stringContaining(path.basename(entry.originalSource)) : entry.originalSource,
          line: entry.originalLine,
          column: entry.originalColumn,
        });
      }
    }
    expect(compared).toBeGreaterThan(500);
  });

  it('gives nothing for a malformed mapping, or a line without one', () => {
    expect(findOriginal('AAAA;!!', 1, 0)).toBeUndefined();
    expect(findOriginal('AAAA;;AAEE', 1, 0)).toBeUndefined();
    expect(findOriginal('AAAA', 0, 5)).toEqual({ source: 0, line: 0, column: 0 });
  });

  it('does not read a map larger than MAX_MAP_BYTES (the frame keeps its generated position)', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'looppool-sourcemap-'));
    writeFileSync(path.join(dir, 'gen.js.map'), JSON.stringify({ ...map, sourcesContent: ['x'.repeat(MAX_MAP_BYTES)] }));
    const local = pathToFileURL(path.join(dir, 'gen.js')).href;
    expect(new SourceMapCache().map(local, 'gen.js.map', 1, 0)).toEqual({ url: local, line: 2, column: 1 });
  });
});
