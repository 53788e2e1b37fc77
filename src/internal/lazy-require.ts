/**
 * Load a CommonJS dependency the first time it is needed, synchronously: hot-shots and pidusage
 * cost ~15 MiB and ~20 ms at start-up, and a pool without metrics or memory limits never uses them.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** `load()` requires `id` on its first call and returns the same module afterwards. */
export function lazyRequire<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}
