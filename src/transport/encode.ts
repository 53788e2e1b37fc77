/**
 * Encoding of payloads (tasks, results, broadcast messages) at the moment they are submitted,
 * so a value that cannot cross is refused right there with a {@link SerializationError}.
 */
import { SerializationError } from '../errors.ts';
import { assertCloneable, isJsonSafe, jsonWalk } from './inspect-value.ts';
import { serializeV8 } from './v8-codec.ts';

/**
 * Plain data whose long strings (1 KiB and more) hold this many characters in all travels
 * through V8's serializer: `JSON.stringify` escapes a string character by character (about
 * 300 MB/s on Node 20, `JSON.parse` 800 MB/s), while `v8.serialize` copies it (1.3 GB/s,
 * `deserialize` 3.6 GB/s). For everything else JSON wins: it is faster on many small values,
 * and it is batched with the other messages of the tick.
 */
export const CLONE_FROM_CHARS = 16 * 1024;

/** True when `value` should travel as JSON: JSON carries it exactly, and cheaper than V8's serializer. */
export function travelsAsJson(value: unknown): boolean {
  return isJsonSafe(value) && jsonWalk.longChars < CLONE_FROM_CHARS;
}

/**
 * Encode `value` for the channel: its JSON text when it travels as JSON ({@link travelsAsJson}),
 * or else the bytes V8's serializer makes of it (a Buffer outside the JS heap: a task keeps
 * these while it waits or runs, not the value, so long strings are not copied by every young
 * generation collection). Throws a {@link SerializationError} naming `root` and the path inside
 * it when it cannot cross or is too big.
 */
export function encodePayload(value: unknown, root: string, maxBytes: number): string | Buffer {
  if (isJsonSafeOrThrow(value, root)) {
    if (jsonWalk.longChars < CLONE_FROM_CHARS) {
      const json = JSON.stringify(value);
      if (json.length * 3 > maxBytes) checkSize(Buffer.byteLength(json), root, maxBytes);
      return json;
    }
  } else {
    assertCloneable(value, root);
  }
  let bytes: Buffer;
  try {
    bytes = serializeV8(value);
  } catch (err) {
    // What the walk let through and V8's serializer still refuses (a host object, say): typed, not V8's DataCloneError.
    throw new SerializationError('unsupported', root, `V8's serializer refused it (${(err as Error).message})`);
  }
  checkSize(bytes.length, root, maxBytes);
  return bytes;
}

/** {@link isJsonSafe}, where reading the value threw (a getter, a Proxy): a SerializationError, as the same value as a result gets. */
function isJsonSafeOrThrow(value: unknown, root: string): boolean {
  try {
    return isJsonSafe(value);
  } catch (err) {
    if (err instanceof SerializationError) throw err;
    throw new SerializationError('unsupported', root, err instanceof Error ? err.message : String(err), { cause: err });
  }
}

function checkSize(bytes: number, root: string, maxBytes: number): void {
  if (bytes > maxBytes) {
    throw new SerializationError('size', root, `${bytes} bytes exceed maxMessageBytes (${maxBytes})`);
  }
}
