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
  try {
    return encode(value, root, maxBytes);
  } catch (err) {
    throw typed(err, root);
  }
}

function encode(value: unknown, root: string, maxBytes: number): string | Buffer {
  if (isJsonSafe(value, maxBytes)) {
    if (jsonWalk.longChars < CLONE_FROM_CHARS) {
      const json = JSON.stringify(value);
      if (json.length * 3 > maxBytes) checkSize(Buffer.byteLength(json), root, maxBytes);
      return json;
    }
  } else {
    assertCloneable(value, root, maxBytes);
  }
  let bytes: Buffer;
  try {
    bytes = serializeV8(value);
  } catch (err) {
    // What the walk let through and V8's serializer still refuses (a host object, say): typed, not V8's DataCloneError.
    throw new SerializationError('unsupported', root, `V8's serializer refused it (${(err as Error).message})`, { cause: err });
  }
  checkSize(bytes.length, root, maxBytes);
  return bytes;
}

/**
 * What encoding threw, as a SerializationError: a getter or a Proxy that throws, or that gives
 * another value on the next read (a BigInt where the walk saw a number), or JSON text longer than
 * V8 can make a string (about 512 MB: 'size'). The same value as a result gets the same.
 */
function typed(err: unknown, root: string): SerializationError {
  if (err instanceof SerializationError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SerializationError(err instanceof RangeError && /string length/i.test(message) ? 'size' : 'unsupported', root, message, { cause: err });
}

function checkSize(bytes: number, root: string, maxBytes: number): void {
  if (bytes > maxBytes) {
    throw new SerializationError('size', root, `${bytes} bytes exceed maxMessageBytes (${maxBytes})`);
  }
}
