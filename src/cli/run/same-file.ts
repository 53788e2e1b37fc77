/** Whether two paths name one file, for the checks that keep a run from writing over its own input or code. */
import { statSync, type Stats } from 'node:fs';

/** Whether `other` is the regular file `file` (`info`: its stats, if it exists) by whatever path: the same path, a symlink, another hard link. */
export function sameFile(file: string, info: Stats | undefined, other: string): boolean {
  if (file === other) return true;
  if (!info?.isFile()) return false;
  const o = statSync(other, { throwIfNoEntry: false });
  return o !== undefined && o.dev === info.dev && o.ino === info.ino;
}
