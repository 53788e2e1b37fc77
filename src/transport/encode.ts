/**
 * Encoding of payloads (tasks, results, broadcast messages) at the moment they are submitted,
 * so a value that cannot cross is refused right there with a {@link SerializationError}.
 */
import v8 from 'node:v8';
import { SerializationError } from '../errors.ts';
import { assertCloneable, isJsonSafe, jsonWalk } from './inspect-value.ts';

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
 * Encode `value` for the channel. Returns its JSON text when it travels as JSON
 * ({@link travelsAsJson}), or `null` when it goes through V8's serializer (it was checked and
 * fits). Throws a {@link SerializationError} naming `root` and the path inside it otherwise.
 */
export function encodePayload(value: unknown, root: string, maxBytes: number): string | null {
  if (isJsonSafe(value)) {
    if (jsonWalk.longChars < CLONE_FROM_CHARS) {
      const json = JSON.stringify(value);
      if (json.length * 3 > maxBytes) checkSize(Buffer.byteLength(json), root, maxBytes);
      return json;
    }
    // Long strings: cloned. V8 writes at most 2 bytes a character and a few per value; measure
    // exactly only when that bound could pass the limit.
    if (2 * jsonWalk.chars + 16 * jsonWalk.nodes + 16 > maxBytes) checkSize(v8.serialize(value).length, root, maxBytes);
    return null;
  }
  assertCloneable(value, root);
  checkSize(v8.serialize(value).length, root, maxBytes);
  return null;
}

function checkSize(bytes: number, root: string, maxBytes: number): void {
  if (bytes > maxBytes) {
    throw new SerializationError('size', root, `${bytes} bytes exceed maxMessageBytes (${maxBytes})`);
  }
}

/** `,"key":<json>` or nothing when the value is `undefined` (JSON omits it; parse reads it back as such). */
export function jsonField(key: string, json: string | undefined): string {
  return json === undefined ? '' : `,"${key}":${json}`;
}
