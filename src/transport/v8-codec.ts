/**
 * V8's serializer, for the values JSON cannot carry. node:v8 is taken from
 * `process.getBuiltinModule()` on first use, not imported: an ES import of a built-in builds its
 * ES facade and runs every lazy getter it exports (about 0.3 ms of CPU in a worker's start, against
 * 0.05 ms for `getBuiltinModule` when node:v8 is loaded already). A worker whose values all travel
 * as JSON never loads it.
 */
type V8 = typeof import('node:v8');
type Deserializer = InstanceType<V8['DefaultDeserializer']>;

let v8: V8 | undefined;
let CopyingDeserializer: (new (bytes: Uint8Array) => Deserializer) | undefined;

export function serializeV8(value: unknown): Buffer {
  return (v8 ??= process.getBuiltinModule('node:v8')).serialize(value);
}

/** `v8.deserialize`, but every Buffer, typed array and DataView it makes has memory of its own. */
export function deserializeV8(bytes: Uint8Array): unknown {
  const deserializer = new (CopyingDeserializer ??= copyingDeserializer((v8 ??= process.getBuiltinModule('node:v8'))))(bytes);
  deserializer.readHeader();
  return deserializer.readValue();
}

/**
 * Node's deserializer makes a Buffer or typed array a view into the bytes it reads, where they
 * are aligned: a 32-byte Buffer taken from an answer then kept the answer's whole frame (20 MB,
 * say) in memory, and its `.buffer` showed the bytes of other messages read with it. Each gets a
 * copy of its own here, as structured clone gives.
 */
function copyingDeserializer(v8: V8): new (bytes: Uint8Array) => Deserializer {
  return class extends v8.DefaultDeserializer {
    _readHostObject(): unknown {
      const view = (v8.DefaultDeserializer.prototype as unknown as { _readHostObject(this: Deserializer): ArrayBufferView })._readHostObject.call(this);
      if (Buffer.isBuffer(view)) {
        const own = Buffer.allocUnsafeSlow(view.length); // not from Buffer's shared pool
        view.copy(own);
        return own;
      }
      if (view instanceof DataView) return new DataView(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
      return (view as unknown as { slice(): ArrayBufferView }).slice(); // a typed array: a new one, with a buffer of its own
    }
  };
}
