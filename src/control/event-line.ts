/** A pool event as the control channel streams it: one JSON line, whatever the event carries. */
import type { ControlEvent } from './protocol.ts';

/**
 * One event line. Its listener runs inside the pool's emit(): data that JSON cannot carry (an
 * event of the owner's with a BigInt, a cycle) must not throw there; it is sent as its error.
 */
export function eventLine(message: ControlEvent): string {
  try {
    return JSON.stringify(message);
  } catch (err) {
    return JSON.stringify({ ...message, data: { unserializable: err instanceof Error ? err.message : String(err) } });
  }
}

/** Event arguments as plain JSON: errors become `{ name, message, code }`. */
export function eventData(args: unknown[]): unknown {
  const plain = args.map((a) =>
    a instanceof Error ? { name: a.name, message: a.message, ...('code' in a ? { code: (a as { code: unknown }).code } : {}) } : a,
  );
  return plain.length === 1 ? plain[0] : plain;
}
