/**
 * Maps a position in generated code back to its source through the script's source map, so a
 * TypeScript worker run by tsx (which inlines a `data:` source map) is reported at its `.ts`
 * line. Runs in the watchdog thread after the main thread was resumed.
 *
 * The thread has a small heap, so a map is not turned into a table of every mapping (Node's
 * `SourceMap` takes about 15 times the map's size: a 1.5 MB map ended the thread, out of
 * memory, and with it the watch of the parent): {@link findOriginal} reads the `mappings` text
 * up to the one line it needs, keeping only running totals. Maps over {@link MAX_MAP_BYTES} are
 * not read at all (the frame keeps its generated position).
 */
import { readFileSync, statSync } from 'node:fs';

/** A 1-based position in a script. */
export interface Position {
  readonly url: string;
  readonly line: number;
  readonly column: number;
}

/** The largest source map read, in bytes (its text and its parsed JSON must fit the thread's heap). */
export const MAX_MAP_BYTES = 6 * 1024 * 1024;

/** The parts of a source map (version 3) the lookup needs. */
interface MapPayload {
  readonly mappings: string;
  readonly sources: readonly string[];
  readonly sourceRoot?: string | undefined;
}

const DATA_URL = /^data:application\/json(?:;charset=[\w-]+)?(;base64)?,/i;

/** Source maps by script URL, loaded once per capture. `null`: the script has none we can read. */
export class SourceMapCache {
  readonly #maps = new Map<string, MapPayload | null>();

  /**
   * Map a 0-based generated position of the script at `url` (whose `sourceMappingURL` comment
   * is `sourceMapURL`, possibly empty) to a 1-based source position. Falls back to the
   * generated position when there is no usable map.
   */
  map(url: string, sourceMapURL: string, line0: number, column0: number): Position {
    const generated = { url, line: line0 + 1, column: column0 + 1 };
    const map = this.#load(url, sourceMapURL);
    const found = map ? findOriginal(map.mappings, line0, column0) : undefined;
    const source = found ? map?.sources[found.source] : undefined;
    if (!map || !found || typeof source !== 'string') return generated; // `sources` may hold null
    return { url: sourceUrl(url, map, source), line: found.line + 1, column: found.column + 1 };
  }

  #load(url: string, sourceMapURL: string): MapPayload | null {
    if (!sourceMapURL) return null;
    let map = this.#maps.get(url);
    if (map === undefined) {
      map = readSourceMap(url, sourceMapURL);
      this.#maps.set(url, map);
    }
    return map;
  }
}

function readSourceMap(url: string, sourceMapURL: string): MapPayload | null {
  try {
    const data = DATA_URL.exec(sourceMapURL);
    let json: string;
    if (data) {
      const body = sourceMapURL.slice(data[0].length);
      if (body.length > (data[1] ? (MAX_MAP_BYTES * 4) / 3 : MAX_MAP_BYTES)) return null;
      json = data[1] ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body);
    } else {
      // A `.map` file next to compiled JavaScript: only local files, never the network.
      const file = new URL(sourceMapURL, url);
      if (file.protocol !== 'file:' || statSync(file).size > MAX_MAP_BYTES) return null;
      json = readFileSync(file, 'utf8');
    }
    const payload = JSON.parse(json) as Partial<MapPayload>;
    if (typeof payload.mappings !== 'string' || !Array.isArray(payload.sources)) return null; // an index map (`sections`) among others
    return { mappings: payload.mappings, sources: payload.sources, sourceRoot: typeof payload.sourceRoot === 'string' ? payload.sourceRoot : undefined };
  } catch {
    return null;
  }
}

/** A 0-based original position, its source an index into the map's `sources`. */
export interface OriginalPosition {
  readonly source: number;
  readonly line: number;
  readonly column: number;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGITS = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i++) DIGITS[BASE64.charCodeAt(i)] = i;
const SEMICOLON = 59;
const COMMA = 44;

/**
 * The original position of the generated 0-based `line0`:`column0` in a version 3 `mappings`
 * text: the segment of that line that starts at or before the column, the last such; `undefined`
 * when there is none, or it maps to no source, or the text is malformed. Reads the text up to the
 * end of that line, keeping running totals only (the fields are deltas from the previous segment).
 */
export function findOriginal(mappings: string, line0: number, column0: number): OriginalPosition | undefined {
  const fields = [0, 0, 0, 0, 0];
  let line = 0;
  let column = 0;
  let source = 0;
  let originalLine = 0;
  let originalColumn = 0;
  let found: OriginalPosition | undefined;
  let i = 0;
  while (i < mappings.length) {
    const c = mappings.charCodeAt(i);
    if (c === SEMICOLON) {
      if (line === line0) break;
      line++;
      column = 0;
      i++;
      continue;
    }
    if (c === COMMA) {
      i++;
      continue;
    }
    let count = 0;
    while (i < mappings.length && mappings.charCodeAt(i) !== COMMA && mappings.charCodeAt(i) !== SEMICOLON) {
      let value = 0;
      let shift = 0;
      let digit: number;
      do {
        const code = mappings.charCodeAt(i++);
        digit = code < 128 ? (DIGITS[code] as number) : -1;
        if (digit < 0 || shift > 30) return undefined;
        value += (digit & 31) * 2 ** shift;
        shift += 5;
      } while (digit & 32);
      if (count < fields.length) fields[count] = value % 2 === 1 ? -(value - 1) / 2 : value / 2;
      count++;
    }
    column += fields[0] as number;
    if (count >= 4) {
      source += fields[1] as number;
      originalLine += fields[2] as number;
      originalColumn += fields[3] as number;
    }
    if (line === line0 && column <= column0) found = count >= 4 ? { source, line: originalLine, column: originalColumn } : undefined;
  }
  return found;
}

/** The original source as an absolute URL (source maps often hold paths relative to the map). */
function sourceUrl(scriptUrl: string, payload: MapPayload, source: string): string {
  try {
    const root = payload.sourceRoot ? new URL(payload.sourceRoot.endsWith('/') ? payload.sourceRoot : `${payload.sourceRoot}/`, scriptUrl) : scriptUrl;
    return new URL(source, root).href;
  } catch {
    return source;
  }
}
