/**
 * Build step after `tsc` (`npm run build`): what a process loads is rebuilt as a few files
 * instead of dozens of modules (each ESM module costs Node's loader time and memory: the parent's
 * ~50 modules took ~30 ms and ~7 MiB to import, one bundle ~5 ms and ~1 MiB; a worker's ~30
 * modules about 20 ms of its start; manual/performance-notes.md, E).
 *
 * - The worker side: one file, `dist/child/main.js`, both the entry of every worker process and
 *   `looppool/worker` (what a worker's own code imports; src/child/main.ts starts a worker only
 *   when it is the process's main module). A worker module's import of `looppool/worker` then
 *   finds it loaded: one copy of every class (a `Worker` subclass, `signal.reason instanceof
 *   WorkerStoppedError` in a task) and no file of its own to load (two fewer modules before a
 *   class worker's first task than an entry and a `looppool/worker` sharing a chunk). What only
 *   some workers need (Sentry, metrics reporting, the watchdog thread) stays in chunks imported
 *   when used, `dist/child/shared-*.js`.
 * - The parent side: `looppool` (`dist/index.js`), `looppool/bullmq` (`dist/bullmq/index.js`) and
 *   the command (`dist/cli/main.js`), bundled together the same way (chunks in `dist/parent/`):
 *   one `Pool` class, one Sentry client state, whichever entries a process imports.
 *
 * What stays out, as the files tsc wrote:
 * - packages (hot-shots, @sentry/node, tsx...): loaded from node_modules, and only when used;
 * - `dist/errors.js`: both sides use the same error classes (a worker may import them from
 *   `looppool`; a process may load both entries), so there is one copy. Parent outputs sit at
 *   different depths, so they import it as `#errors` (package.json `imports`);
 * - the watchdog thread's module (`dist/child/watchdog/thread.js`) and what it imports: a thread
 *   loads it by URL.
 *
 * Code that finds files relative to its own module (`new URL(..., import.meta.url)`) must still
 * find them from the bundle: the child entry (spawn.ts), the watchdog thread (start.ts) and
 * package.json (cli/main.ts) are checked after the build.
 *
 * Then every other `.js` tsc wrote (and its `.js.map`) is deleted: the bundles hold that code, and
 * nothing loads those files (they were most of what `npm pack` shipped). What stays is found from
 * the package's entry points (package.json `exports`, `imports` and `bin`, the outputs here, the
 * files loaded by URL) by following their imports, so a file a shipped one imports can never be
 * deleted, and one that is not there fails the build. The declarations (`.d.ts`, `.d.ts.map`) all
 * stay. (tsc writing declarations only and esbuild building the kept files too would change the
 * code those files run, and still need the list of files loaded by URL.)
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.dirname(fileURLToPath(import.meta.url));
const errors = path.join(root, 'src/errors.ts');

/** Keep `src/errors.ts` out of a bundle: imported as `specifier` instead. */
const errorsStayShared = (specifier) => ({
  name: 'errors-stay-shared',
  setup(b) {
    b.onResolve({ filter: /errors\.ts$/ }, (args) =>
      path.resolve(args.resolveDir, args.path) === errors ? { path: specifier, external: true } : undefined,
    );
  },
});

const common = {
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  packages: 'external',
  sourcemap: true,
  allowOverwrite: true,
  logLevel: 'warning',
  metafile: true,
};

const child = await build({
  ...common,
  entryPoints: { main: path.join(root, 'src/child/main.ts') },
  outdir: path.join(root, 'dist/child'),
  chunkNames: 'shared-[hash]',
  plugins: [errorsStayShared('../errors.js')],
});

const parent = await build({
  ...common,
  entryPoints: {
    index: path.join(root, 'src/index.ts'),
    'bullmq/index': path.join(root, 'src/bullmq/index.ts'),
    'cli/main': path.join(root, 'src/cli/main.ts'),
  },
  outdir: path.join(root, 'dist'),
  chunkNames: 'parent/shared-[hash]',
  plugins: [errorsStayShared('#errors')],
});

// What a worker loads before its first task (the entry, `looppool/worker` and what they import
// statically) takes built-ins from `process.getBuiltinModule()`, never from an ES import: that
// builds the module's ES facade and runs every lazy getter it exports (node:net 1 ms of a worker's
// start with BlockList and SocketAddress, node:v8 0.3 ms, node:perf_hooks eight more modules).
// What `import 'looppool'` loads may import only the built-ins every pool uses at once.
/** Built-ins that the files reached statically from `entries` import as ES modules, but for `allowed`. */
const builtinImports = (build, entries, allowed = []) => {
  const files = new Set();
  const visit = (file) => {
    if (files.has(file)) return;
    files.add(file);
    for (const i of build.metafile.outputs[file]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  for (const entry of entries) visit(entry);
  return [...files].flatMap((file) =>
    build.metafile.outputs[file].imports
      .filter((i) => i.kind === 'import-statement' && i.path.startsWith('node:') && !allowed.includes(i.path))
      .map((i) => `  ${file}: ${i.path}`),
  );
};
const workerBuiltins = builtinImports(child, ['dist/child/main.js']);
if (workerBuiltins.length > 0) {
  throw new Error(`bundle: a worker's start files import built-ins as ES modules (use process.getBuiltinModule() where they are used):\n${workerBuiltins.join('\n')}`);
}
const poolBuiltins = builtinImports(parent, ['dist/index.js'], ['node:events', 'node:path', 'node:url', 'node:child_process']);
if (poolBuiltins.length > 0) {
  throw new Error(`bundle: what \`import 'looppool'\` loads imports built-ins as ES modules that not every pool uses (use process.getBuiltinModule() where they are used):\n${poolBuiltins.join('\n')}`);
}

// Relative URLs resolved from import.meta.url: each must sit in an output at the depth its
// source had (`dist/<dir>/`), or it would point elsewhere once bundled. `loads`: the modules they
// point to, which a process loads although nothing imports them.
const relativeUrls = [
  { source: 'src/parent/spawn.ts', text: "'../child/main.js'", loads: ['dist/child/main.js'] },
  { source: 'src/child/start.ts', text: "'./watchdog/thread.js'", loads: ['dist/child/watchdog/thread.js'] },
  { source: 'src/cli/main.ts', text: "'../../package.json' and '../../manual/cli.md'", loads: [] },
];
const outputs = { ...child.metafile.outputs, ...parent.metafile.outputs };
for (const { source, text } of relativeUrls) {
  const found = Object.keys(outputs).filter((file) => source in outputs[file].inputs);
  for (const file of found) {
    const depth = path.relative(path.join(root, 'dist'), path.resolve(root, file)).split(path.sep).length - 1;
    const wanted = path.relative(path.join(root, 'src'), path.resolve(root, source)).split(path.sep).length - 1;
    if (depth !== wanted) throw new Error(`bundle: ${source} (${text}) ended up in ${file}, at another depth than its source`);
  }
  if (found.length === 0) throw new Error(`bundle: ${source} is in no output`);
}

// The files a process can load: from every entry point, each file its imports reach (static,
// and `import()` of a string), as esbuild resolves them (relative paths, `#errors`); bundled
// without writing anything, only for its list of inputs. An import of a file that is not there
// fails here.
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const targets = (value) => (typeof value === 'string' ? [value] : Object.values(value ?? {}).flatMap(targets));
const entries = [
  ...[pkg.exports, pkg.imports, pkg.bin].flatMap(targets).filter((file) => file.endsWith('.js')),
  ...Object.keys(outputs).filter((file) => file.endsWith('.js')),
  ...relativeUrls.flatMap((u) => u.loads),
].map((file) => path.resolve(root, file));
let reach;
try {
  reach = await build({
    entryPoints: [...new Set(entries)], bundle: true, splitting: true, write: false, outdir: path.join(root, 'reach'),
    platform: 'node', format: 'esm', packages: 'external', metafile: true, logLevel: 'silent', absWorkingDir: root,
  });
} catch (err) {
  const errors = err.errors?.map((e) => `  ${e.location ? `${e.location.file}:${e.location.line}` : 'entry point'}: ${e.text}`);
  throw new Error(`bundle: a file the package loads is not there:\n${errors?.join('\n') ?? err}`);
}
const loaded = Object.keys(reach.metafile.inputs).filter((file) => file.endsWith('.js'));
const kept = new Set(loaded.map((file) => path.resolve(root, file)));
for (const entry of readdirSync(path.join(root, 'dist'), { recursive: true, withFileTypes: true })) {
  const file = path.join(entry.parentPath, entry.name);
  if (entry.isFile() && /\.js(\.map)?$/.test(file) && !kept.has(file.replace(/\.map$/, ''))) rmSync(file);
}

// Every file a process loads must be ASCII. V8 keeps a module's source text for as long as the
// module lives, and one character outside Latin-1 anywhere in it (a '\u2212' in a comment) makes
// that text a two-byte string: twice the memory (the parent's 120 KB chunk took 240 KB, in the
// large-object space) and a slower scan. esbuild escapes such characters in code (its default
// charset is ASCII) but copies the comments it keeps as they are, and tsc copies every comment.
const nonAscii = loaded.flatMap((file) =>
  readFileSync(path.resolve(root, file), 'utf8')
    .split('\n')
    .flatMap((line, i) => (/[^\x00-\x7f]/.test(line) ? [`  ${file}:${i + 1}: ${line.trim()}`] : [])),
);
if (nonAscii.length > 0) {
  throw new Error(`bundle: non-ASCII characters in files a process loads (most likely in comments: write them in ASCII in the source):\n${nonAscii.join('\n')}`);
}
