/**
 * Every relative link of the README and the manual leads somewhere: the file exists and, for a
 * link with `#anchor` into a Markdown file, a heading there has that anchor (GitHub's rule:
 * lower case, punctuation dropped, spaces made hyphens, `-1`, `-2`... for repeats).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

function markdownFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)));
}

/** The text outside fenced code blocks, where a `#` or `[x](y)` means nothing. */
function prose(file: string): string {
  return readFileSync(path.join(root, file), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
}

function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of markdown.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const text = (heading as string).replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text.trim().toLowerCase().replace(/[^\p{L}\p{N}\- _]/gu, '').replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** The anchors of each Markdown file, read once however many links point into it. */
const anchorCache = new Map<string, Set<string>>();
function anchorsOfFile(file: string): Set<string> {
  let anchors = anchorCache.get(file);
  if (!anchors) anchorCache.set(file, (anchors = anchorsOf(prose(file))));
  return anchors;
}

/** Relative links of `file` that lead nowhere, as `target (why)`. */
function brokenLinks(file: string): string[] {
  const broken: string[] = [];
  for (const [, target] of prose(file).matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
    if (/^[a-z][a-z+.-]*:/i.test(target as string)) continue; // https:, mailto:...
    const [filePart, anchor] = (target as string).split('#', 2) as [string, string | undefined];
    const resolved = filePart === '' ? file : path.join(path.dirname(file), filePart);
    if (!existsSync(path.join(root, resolved))) {
      broken.push(`${target} (no such file)`);
    } else if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOfFile(resolved).has(anchor)) {
      broken.push(`${target} (no such heading)`);
    }
  }
  return broken;
}

describe('links of the README and the manual', () => {
  const files = ['README.md', ...markdownFiles('manual')];

  it('finds the documents and their headings', () => {
    expect(files).toContain('manual/performance.md');
    expect(anchorsOfFile('manual/performance.md')).toContain('7-reading-the-results-honestly');
    expect(anchorsOf('## A `b`: c\n## A `b`: c\n')).toEqual(new Set(['a-b-c', 'a-b-c-1']));
  });

  it.each(files)('every relative link of %s leads to a file and heading that exist', (file) => {
    expect(brokenLinks(file)).toEqual([]);
  });
});
