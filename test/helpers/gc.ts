/** Garbage collection on demand in a test process (vitest runs without --expose-gc). */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** How many of `refs` still point to something after full collections. */
export async function survivorsAfterGc(refs: readonly WeakRef<object>[]): Promise<number> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let round = 0; round < 3; round++) {
    await new Promise((resolve) => setImmediate(resolve)); // a WeakRef holds its target until the job ends
    gc();
  }
  return refs.filter((r) => r.deref() !== undefined).length;
}
