/**
 * The `worker` option: a file path (relative ones against the current directory) or a `file:`
 * URL, resolved to a `file:` URL string and checked, at `new Pool()`, to name an existing regular
 * file. Package names are not looked up: a bare `some-pkg/worker` is a relative path.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { show } from './option-checks.ts';

/** A string the URL parser reads as a file: URL: the scheme in any case (`FILE:///w.mjs`), as URL schemes are. */
const FILE_SCHEME = /^file:/i;

/**
 * Whether a file: URL string whose part after the scheme is `rest` is absolute as the URL parser
 * reads it: `rest` begins with `/` or `\` (alike in a file: URL) or a drive letter (`file:C:/w.mjs`
 * is file:///C:/w.mjs), not counting the tabs and newlines the parser drops. Anything else the
 * parser reads against the root.
 */
function isAbsoluteFileUrl(rest: string): boolean {
  return /^(?:[/\\]|[a-z][:|](?:[/\\?#]|$))/i.test(rest.replace(/[\t\n\r]/g, ''));
}

/**
 * Resolve the worker option to a `file:` URL string (without looking at the disk: see {@link assertWorkerFile}).
 * @throws {TypeError} for what is no file path or absolute file: URL (a relative `file:w.mjs` names /w.mjs)
 */
export function resolveWorkerUrl(worker: unknown): string {
  if (worker instanceof URL) {
    if (worker.protocol !== 'file:') throw new TypeError(`Expected \`worker\` to be a file: URL, got the URL ${JSON.stringify(worker.href)}`);
    return worker.href;
  }
  if (typeof worker !== 'string' || worker === '') {
    throw new TypeError(`Expected \`worker\` to be a file path or a file: URL, got ${show(worker)}`);
  }
  if (FILE_SCHEME.test(worker)) {
    const rest = worker.slice('file:'.length);
    // The URL parser reads `file:w.mjs` as file:///w.mjs: a file under the root, not the w.mjs meant.
    if (!isAbsoluteFileUrl(rest)) {
      throw new TypeError(
        `Expected \`worker\` to be an absolute file: URL or a file path, got ${show(worker)}: a relative file: URL, read as ${fileURLToPath(new URL(worker))} (give the path ${rest}, or file:///…/${rest})`,
      );
    }
    return new URL(worker).href;
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(worker) && !/^[a-z]:[\\/]/i.test(worker)) {
    throw new TypeError(`Expected \`worker\` to be a file path or a file: URL, got ${show(worker)}`);
  }
  return pathToFileURL(path.resolve(worker)).href;
}

/**
 * @throws {TypeError} when `url`, resolved from the option `worker`, names no existing regular
 * file (symlinks followed): a missing file, a directory, a file: URL with a host.
 */
export function assertWorkerFile(url: string, worker: unknown): void {
  const problem = notAFile(localPath(url, worker));
  if (problem !== undefined) {
    throw new TypeError(`Expected \`worker\` to be the path or file: URL of an existing file, got ${describe(worker)}: ${problem}`);
  }
}

/** The path of a `file:` URL on this machine (one with a host, or an encoded `/`, has none). */
function localPath(url: string, worker: unknown): string {
  try {
    return fileURLToPath(url);
  } catch (error) {
    throw new TypeError(`Expected \`worker\` to be a file: URL of a local file, got ${describe(worker)}: ${(error as Error).message}`, { cause: error });
  }
}

/** Why `file` cannot be a worker module, or undefined when it is a regular file (through symlinks). */
function notAFile(file: string): string | undefined {
  let stat;
  try {
    stat = process.getBuiltinModule('node:fs').statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOTDIR: a path through a regular file; ENOENT also for a symlink to nothing.
    return code === 'ENOENT' || code === 'ENOTDIR' ? `no such file: ${file}` : `${file} cannot be read (${code ?? (error as Error).message})`;
  }
  if (stat.isDirectory()) return `${file} is a directory`;
  return stat.isFile() ? undefined : `${file} is not a regular file`;
}

function describe(worker: unknown): string {
  return worker instanceof URL ? `the URL ${JSON.stringify(worker.href)}` : show(worker);
}
