/**
 * Load a CommonJS dependency the first time it is needed, synchronously: hot-shots and pidusage
 * cost ~15 MiB and ~20 ms at start-up, and a pool without metrics or memory limits never uses them.
 * node:module itself is loaded on that first call too: every worker loads this file, and importing
 * node:module costs its start ~0.5 ms of CPU.
 */
let require: NodeJS.Require | undefined;

/** `load()` requires `id` on its first call and returns the same module afterwards. */
export function lazyRequire<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= (require ??= process.getBuiltinModule('node:module').createRequire(import.meta.url))(id) as T);
}
