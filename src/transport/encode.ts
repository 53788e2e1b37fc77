/**
 * Encoding of payloads (tasks, results, broadcast messages) at the moment they are submitted,
 * so a value that cannot cross is refused right there with a {@link SerializationError}.
 */
import v8 from 'node:v8';
import { SerializationError } from '../errors.ts';
import { assertCloneable, isJsonSafe } from './inspect-value.ts';

/**
 * Encode `value` for the channel. Returns its JSON text when JSON carries it exactly, or
 * `null` when it must go through V8's serializer (it was checked and fits). Throws a
 * {@link SerializationError} naming `root` and the path inside it otherwise.
 */
export function encodePayload(value: unknown, root: string, maxBytes: number): string | null {
  if (isJsonSafe(value)) {
    const json = JSON.stringify(value);
    if (json.length * 3 > maxBytes) checkSize(Buffer.byteLength(json), root, maxBytes);
    return json;
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
