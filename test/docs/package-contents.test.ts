/**
 * What `npm pack` ships (`npm pack --dry-run --json`, the built dist/ as it is): every file the
 * package's entry points load, and no JavaScript nothing loads (tsc writes a `.js` for every
 * module, most of which the bundles replace: bundle.config.mjs deletes those). Imports are read
 * with TypeScript's own scanner, not with esbuild, which the build uses to find them.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  exports: object; imports: Record<string, string>; bin: Record<string, string>;
  dependencies: Record<string, string>; peerDependencies: Record<string, string>;
};

/** Modules a process loads by URL (`new URL(..., import.meta.url)`), not by an import. */
const LOADED_BY_URL = ['dist/child/main.js', 'dist/child/watchdog/thread.js'];

/** The files an export/import/bin map points to (`./dist/x.js` → `dist/x.js`). */
const targets = (value: unknown): string[] =>
  typeof value === 'string' ? [path.posix.normalize(value)] : Object.values(value ?? {}).flatMap(targets);

/**
 * The specifiers `file` imports (static, re-exports and `import()` of a string; comments skipped),
 * and the packages it loads when first needed with a require() made by createRequire()
 * (src/internal/lazy-require.ts: hot-shots, pidusage; src/cli/format.ts: string-width).
 */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const required = [...text.matchAll(/(?:\blazyRequire|createRequire\(import\.meta\.url\))\("([^"]+)"\)/g)].map((m) => m[1] as string);
  return [...ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName), ...required];
}

/** The packed file `specifier` names, imported from `file` (undefined: a package or a built-in). */
function resolve(file: string, specifier: string): string | undefined {
  if (specifier.startsWith('./') || specifier.startsWith('../')) return path.posix.join(path.posix.dirname(file), specifier);
  if (specifier.startsWith('#')) return targets(pkg.imports[specifier])[0] ?? specifier; // not in package.json: reported missing
  return undefined;
}

let packed: Set<string>;

beforeAll(async () => {
  // --ignore-scripts: `prepare` would build again, deleting dist/ under the tests running beside this one.
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, timeout: 120_000 });
  const [report] = JSON.parse(stdout) as [{ files: { path: string }[] }];
  packed = new Set(report.files.map((f) => f.path));
});

describe('the files npm pack ships', () => {
  it("hold what the package's exports, imports and bin point to", () => {
    const entries = [pkg.exports, pkg.imports, pkg.bin].flatMap(targets);
    expect(entries).toContain('dist/child/main.js');
    expect(entries.filter((file) => !packed.has(file))).toEqual([]);
  });

  it('hold every file a shipped module imports, and every package it imports is a dependency', () => {
    const shipped = [...packed].filter((file) => file.endsWith('.js'));
    const missing: string[] = [];
    const undeclared: string[] = [];
    for (const file of shipped) {
      for (const specifier of importsOf(file)) {
        const target = resolve(file, specifier);
        if (target !== undefined && !packed.has(target)) missing.push(`${file} imports ${specifier}`);
        const name = specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
        if (target === undefined && !isBuiltin(specifier) && !(name in pkg.dependencies) && !(name in pkg.peerDependencies)) undeclared.push(`${file} imports ${specifier}`);
      }
    }
    expect(shipped.length).toBeGreaterThan(5);
    expect(shipped.flatMap(importsOf)).toContain('string-width'); // its require() is seen (and so checked)
    expect(missing).toEqual([]);
    expect(undeclared).toEqual([]);
  });

  it('hold no JavaScript that nothing loads (tsc\'s modules the bundles replace), and no map without its module', () => {
    // What the entry points reach by their imports, and the modules loaded by URL.
    const reached = new Set<string>();
    const visit = (file: string): void => {
      if (reached.has(file) || !packed.has(file)) return;
      reached.add(file);
      for (const specifier of importsOf(file)) {
        const target = resolve(file, specifier);
        if (target !== undefined) visit(target);
      }
    };
    for (const file of [...[pkg.exports, pkg.imports, pkg.bin].flatMap(targets), ...LOADED_BY_URL]) visit(file);
    expect(packed.has('dist/parent/pool.js')).toBe(false); // src/parent/pool.ts: in the parent's bundle
    expect([...packed].filter((file) => file.endsWith('.js') && !reached.has(file))).toEqual([]);
    expect([...packed].filter((file) => file.endsWith('.js.map') && !packed.has(file.slice(0, -'.map'.length)))).toEqual([]);
    expect(packed.has('dist/parent/pool.d.ts')).toBe(true); // its declarations stay: dist/index.d.ts refers to them
  });
});
