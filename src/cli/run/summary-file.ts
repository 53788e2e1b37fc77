/**
 * `--json-summary FILE` is written at the very end of a run: a path it cannot write was found
 * only then, after the whole run. It is checked at the start instead, as `--output` is, but
 * without creating the file: a run stopped before its end (SIGKILL, a crash) must not leave an
 * empty summary behind.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../exit-codes.ts';

/**
 * Check that the run will be able to write `--json-summary` (`-`: stderr, always): an existing
 * file it may write, or a new one in a directory it may write. Creates nothing.
 * @throws {UsageError}
 */
export function checkSummaryFile(json: string | undefined, cwd: string): void {
  if (json === undefined || json === '-') return;
  if (json.trim() === '') throw new UsageError('--json-summary is empty');
  const file = path.resolve(cwd, json);
  const cannot = (why: string): UsageError => new UsageError(`Cannot write --json-summary ${file}: ${why}`);
  const info = statSync(file, { throwIfNoEntry: false });
  if (info?.isDirectory()) throw cannot('it is a directory');
  const dir = path.dirname(file);
  if (info === undefined && !statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw cannot(`no directory ${dir}`);
  try {
    accessSync(info === undefined ? dir : file, info === undefined ? constants.W_OK | constants.X_OK : constants.W_OK);
  } catch (error) {
    throw cannot((error as Error).message);
  }
}
