/**
 * V8's serializer, for the values JSON cannot carry. node:v8 is taken from
 * `process.getBuiltinModule()` on first use, not imported: an ES import of a built-in builds its
 * ES facade and runs every lazy getter it exports (about 0.3 ms of CPU in a worker's start, against
 * 0.05 ms for `getBuiltinModule` when node:v8 is loaded already). A worker whose values all travel
 * as JSON never loads it.
 */
let v8: typeof import('node:v8') | undefined;

export function serializeV8(value: unknown): Buffer {
  return (v8 ??= process.getBuiltinModule('node:v8')).serialize(value);
}

export function deserializeV8(bytes: Uint8Array): unknown {
  return (v8 ??= process.getBuiltinModule('node:v8')).deserialize(bytes);
}
