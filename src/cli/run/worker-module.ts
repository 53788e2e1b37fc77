/**
 * The worker module of `looppool run`. Loading it is running code, so it comes only from the
 * command line and only as a file path resolved against the current directory: URLs and
 * scheme specifiers (`data:`, `http:`, `node:`, `file:`) are refused, and package names are
 * never looked up in node_modules (a bare name is just a relative path that must exist).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../exit-codes.ts';
import { sameFile } from './same-file.ts';

const EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts', '.tsx'];

/**
 * The absolute path of the worker module named by `arg`.
 * @throws {UsageError} when it is not an existing regular file with a JavaScript or TypeScript extension.
 */
export function resolveWorkerModule(arg: string, cwd: string): string {
  if (arg.trim() === '') throw new UsageError('The worker module path is empty');
  if (/^[a-z][a-z0-9+.-]*:/i.test(arg)) {
    throw new UsageError(`The worker module must be a file path, got ${JSON.stringify(arg)} (URLs and data:, http:, https:, node:, file: specifiers are refused)`);
  }
  const absolute = path.resolve(cwd, arg);
  let stat;
  try {
    stat = statSync(absolute);
  } catch {
    const bare = !path.isAbsolute(arg) && !arg.startsWith('.') && path.extname(arg) === '';
    const hint = bare ? ' (package names are not resolved: give the path of the worker file)' : '';
    throw new UsageError(`Worker module not found: ${absolute}${hint}`);
  }
  if (!stat.isFile()) throw new UsageError(`The worker module is not a file: ${absolute}`);
  if (!EXTENSIONS.includes(path.extname(absolute))) {
    throw new UsageError(`The worker module must end in ${EXTENSIONS.join(', ')}: ${absolute}`);
  }
  return absolute;
}

/**
 * Refuse `--output` when it is the worker module `workerPath` by whatever path (a symlink,
 * another hard link): opened for the records, the file was emptied before a worker loaded it, and
 * the user's code was lost. @throws {UsageError}
 */
export function checkOutputNotWorker(output: string | undefined, cwd: string, workerPath: string): void {
  if (output === undefined || output === '-') return;
  const file = path.resolve(cwd, output);
  if (sameFile(file, statSync(file, { throwIfNoEntry: false }), workerPath)) {
    throw new UsageError(`--output ${file} is the worker module: opening it for the records would empty it before the workers load it`);
  }
}

/**
 * The default pool name: the module's file name without extension, or its directory's name
 * for `worker.*`/`index.*` (so `examples/extract/worker.ts` is `extract`), cleaned to the
 * characters a pool name allows.
 */
export function defaultPoolName(modulePath: string): string {
  const base = path.basename(modulePath, path.extname(modulePath));
  const pick = base === 'worker' || base === 'index' ? path.basename(path.dirname(modulePath)) : base;
  const clean = pick.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
  return clean === '' ? 'pool' : clean;
}
