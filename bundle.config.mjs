/**
 * Build step after `tsc` (`npm run build`): what a worker process loads is rebuilt as a few
 * files instead of ~30 modules. Its entry (`dist/child/main.js`) and `looppool/worker`
 * (`dist/child/index.js`, what a worker's own code imports) are bundled together with code
 * splitting, so the two share one copy of every class (a `Worker` subclass, `signal.reason
 * instanceof WorkerStoppedError` in a task) through a chunk, `dist/child/shared-*.js`.
 * Loading the modules one by one cost a worker about 20 ms of its start (manual/performance.md,
 * workload E).
 *
 * What stays out, as the files tsc wrote:
 * - packages (hot-shots, @sentry/node, tsx...): loaded from node_modules, and only when used;
 * - `dist/errors.js`: the parent's `looppool` exports the same error classes, and a worker that
 *   imports them from there must get the same classes as the runtime;
 * - the watchdog thread's module (`dist/child/watchdog/thread.js`): a thread loads it by URL.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.dirname(fileURLToPath(import.meta.url));
const errors = path.join(root, 'src/errors.ts');

await build({
  entryPoints: { main: path.join(root, 'src/child/main.ts'), index: path.join(root, 'src/child/index.ts') },
  outdir: path.join(root, 'dist/child'),
  chunkNames: 'shared-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  packages: 'external',
  sourcemap: true,
  allowOverwrite: true,
  logLevel: 'warning',
  plugins: [
    {
      name: 'errors-stay-shared',
      setup(b) {
        b.onResolve({ filter: /errors\.ts$/ }, (args) =>
          path.resolve(args.resolveDir, args.path) === errors ? { path: '../errors.js', external: true } : undefined,
        );
      },
    },
  ],
});
