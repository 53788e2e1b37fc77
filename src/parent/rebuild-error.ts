import { SerializationError, type SerializationReason } from '../errors.ts';

const REASONS: ReadonlySet<string> = new Set(['function', 'symbol', 'class', 'depth', 'size', 'unsupported']);

/** A worker's result could not be sent: rebuild the SerializationError it raised, as our own class. */
export function rebuildSerializationError(remote: Error, root = 'result'): SerializationError {
  const props = remote as unknown as { reason?: unknown; path?: unknown };
  const reason = typeof props.reason === 'string' && REASONS.has(props.reason) ? (props.reason as SerializationReason) : 'unsupported';
  const path = typeof props.path === 'string' ? props.path : root;
  const detail = remote.message.startsWith(`Cannot send ${path}: `) ? remote.message.slice(`Cannot send ${path}: `.length) : remote.message;
  const error = new SerializationError(reason, path, detail, remote.cause === undefined ? undefined : { cause: remote.cause }); // a getter's own error
  if (remote.stack) error.stack = remote.stack;
  return error;
}
