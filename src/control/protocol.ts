/**
 * The control channel's wire format: newline-delimited JSON. A client sends requests
 * `{"id": 1, "op": "stats"}`; the server answers each with one response line carrying the same
 * id, and, after `events`, streams event lines until the client hangs up.
 */

/** Longest request line the server reads; a longer one closes the connection. */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** A parsed request line. */
export type ControlRequest =
  | { readonly id: RequestId; readonly op: 'stats' }
  | { readonly id: RequestId; readonly op: 'stop'; readonly drain: boolean }
  | { readonly id: RequestId; readonly op: 'events' };

/** Echoed in the response, so a client can match them. */
export type RequestId = number | string | null;

/** The one response line to each request. */
export type ControlResponse =
  | { readonly id: RequestId; readonly ok: true; readonly result: unknown }
  | { readonly id: RequestId; readonly ok: false; readonly error: { readonly name: string; readonly code: string; readonly message: string } };

/** A pool event streamed after an `events` request. */
export interface ControlEvent {
  readonly event: string;
  /** ISO time the server saw it. */
  readonly at: string;
  readonly data: unknown;
}

/** What `stats` answers: the pool's snapshot plus what the serving process adds. */
export interface ControlStats {
  readonly name: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly uptimeMs: number;
  /** Tasks finished (done + failed) per second over the last ten seconds. */
  readonly throughput: number;
  /** The serving process's own event-loop delay over the last window, in ms. */
  readonly loopDelay: { readonly p50: number; readonly p99: number; readonly max: number };
  /** `pool.stats()`, spread: state, size, queued, inFlight, done, failed, restarts, workers… */
  readonly [key: string]: unknown;
}

/**
 * Parse one request line. Throws a TypeError naming what is wrong; keys are read from a
 * null-prototype copy, so a `__proto__` key has no effect.
 */
export function parseRequest(line: string): ControlRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new TypeError('Expected a request to be one line of JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TypeError('Expected a request to be a JSON object');
  const fields = Object.assign(Object.create(null) as Record<string, unknown>, raw);
  const id = fields.id ?? null;
  if (id !== null && typeof id !== 'number' && typeof id !== 'string') throw new TypeError('Expected `id` to be a number or a string');
  switch (fields.op) {
    case 'stats':
      return { id, op: 'stats' };
    case 'events':
      return { id, op: 'events' };
    case 'stop':
      if (fields.drain !== undefined && typeof fields.drain !== 'boolean') throw new TypeError('Expected `drain` to be a boolean');
      return { id, op: 'stop', drain: fields.drain !== false };
    default:
      throw new TypeError(`Unknown op ${JSON.stringify(fields.op)} (expected "stats", "stop" or "events")`);
  }
}

/** The id of a line that failed to parse, if one can be read from it. */
export function idOf(line: string): RequestId {
  try {
    const raw = JSON.parse(line) as { id?: unknown };
    return typeof raw?.id === 'number' || typeof raw?.id === 'string' ? raw.id : null;
  } catch {
    return null;
  }
}
