/**
 * `--json-summary FILE` is written at the very end of a run: a path it cannot write was found
 * only then, after the whole run. It is checked at the start instead, as `--output` is, but
 * without creating the file: a run stopped before its end (SIGKILL, a crash) must not leave an
 * empty summary behind.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../exit-codes.ts';
import type { FileId } from './input.ts';
import { sameFile } from './same-file.ts';

/**
 * Check that the run will be able to write `--json-summary` (`-`: stderr, always): an existing
 * file it may write, or a new one in a directory it may write. Creates nothing.
 * @throws {UsageError}
 */
export function checkSummaryFile(json: string | undefined, cwd: string, others: { readonly worker?: string | undefined; readonly output?: string | undefined } = {}): void {
  if (json === undefined || json === '-') return;
  if (json.trim() === '') throw new UsageError('--json-summary is empty');
  const file = path.resolve(cwd, json);
  const cannot = (why: string): UsageError => new UsageError(`Cannot write --json-summary ${file}: ${why}`);
  const info = statSync(file, { throwIfNoEntry: false });
  if (info?.isDirectory()) throw cannot('it is a directory');
  // Written at the end, it replaced that file: the records (exit 0), or the worker's code.
  if (others.output !== undefined && others.output !== '-' && sameFile(file, info, path.resolve(cwd, others.output))) throw cannot('it is the --output file');
  if (others.worker !== undefined && sameFile(file, info, others.worker)) throw cannot('it is the worker module');
  const dir = path.dirname(file);
  if (info === undefined && !statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw cannot(`no directory ${dir}`);
  try {
    accessSync(info === undefined ? dir : file, info === undefined ? constants.W_OK | constants.X_OK : constants.W_OK);
  } catch (error) {
    throw cannot((error as Error).message);
  }
}

/**
 * `--json-summary` must not be the file the tasks are read from (`--input`, or stdin's file):
 * written at the end, it replaced the tasks. @throws {UsageError}
 */
export function checkSummaryNotInput(json: string | undefined, cwd: string, input: FileId | undefined): void {
  if (json === undefined || json === '-' || input === undefined) return;
  const file = path.resolve(cwd, json);
  const info = statSync(file, { throwIfNoEntry: false });
  if (info?.isFile() && info.dev === input.dev && info.ino === input.ino) throw new UsageError(`Cannot write --json-summary ${file}: it is the input file`);
}
