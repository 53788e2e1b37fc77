/**
 * Maps a position in generated code back to its source through the script's source map, so a
 * TypeScript worker run by tsx (which inlines a `data:` source map) is reported at its `.ts`
 * line. Runs in the watchdog thread after the main thread was resumed.
 */
import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload, type SourceMapping } from 'node:module';

/** A 1-based position in a script. */
export interface Position {
  readonly url: string;
  readonly line: number;
  readonly column: number;
}

const DATA_URL = /^data:application\/json(?:;charset=[\w-]+)?(;base64)?,/i;

/** Source maps by script URL, loaded once per capture. `null`: the script has none we can read. */
export class SourceMapCache {
  readonly #maps = new Map<string, SourceMap | null>();

  /**
   * Map a 0-based generated position of the script at `url` (whose `sourceMappingURL` comment
   * is `sourceMapURL`, possibly empty) to a 1-based source position. Falls back to the
   * generated position when there is no usable map.
   */
  map(url: string, sourceMapURL: string, line0: number, column0: number): Position {
    const generated = { url, line: line0 + 1, column: column0 + 1 };
    const map = this.#load(url, sourceMapURL);
    if (!map) return generated;
    const entry = map.findEntry(line0, column0);
    if (!isMapping(entry)) return generated;
    return { url: sourceUrl(url, map.payload, entry.originalSource), line: entry.originalLine + 1, column: entry.originalColumn + 1 };
  }

  #load(url: string, sourceMapURL: string): SourceMap | null {
    if (!sourceMapURL) return null;
    let map = this.#maps.get(url);
    if (map === undefined) {
      map = readSourceMap(url, sourceMapURL);
      this.#maps.set(url, map);
    }
    return map;
  }
}

function readSourceMap(url: string, sourceMapURL: string): SourceMap | null {
  try {
    const data = DATA_URL.exec(sourceMapURL);
    let json: string;
    if (data) {
      const body = sourceMapURL.slice(data[0].length);
      json = data[1] ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body);
    } else {
      // A `.map` file next to compiled JavaScript: only local files, never the network.
      const file = new URL(sourceMapURL, url);
      if (file.protocol !== 'file:') return null;
      json = readFileSync(file, 'utf8');
    }
    return new SourceMap(JSON.parse(json) as SourceMapPayload);
  } catch {
    return null;
  }
}

/** The original source as an absolute URL (source maps often hold paths relative to the map). */
function sourceUrl(scriptUrl: string, payload: SourceMapPayload, source: string): string {
  try {
    const root = payload.sourceRoot ? new URL(payload.sourceRoot.endsWith('/') ? payload.sourceRoot : `${payload.sourceRoot}/`, scriptUrl) : scriptUrl;
    return new URL(source, root).href;
  } catch {
    return source;
  }
}

function isMapping(entry: SourceMapping | object): entry is SourceMapping {
  return typeof (entry as Partial<SourceMapping>).originalSource === 'string';
}
