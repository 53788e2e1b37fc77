/**
 * A local stand-in for Sentry's ingest: an HTTP server on 127.0.0.1 that accepts envelopes at
 * `/api/<project>/envelope/` (gzip when `content-encoding` says so), records every item, and
 * answers `200 {}`. Point the real SDK at it with `endpoint.dsn`. With `{ hang: true }` it reads
 * requests but never answers, like an ingest that stopped responding.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { waitFor } from './processes.ts';

/** One item of an envelope: its header (`type`: `event`, `session`, …) and its parsed payload. */
export interface EnvelopeItem {
  readonly header: Record<string, unknown>;
  readonly payload: unknown;
}

/** One request the SDK made. */
export interface ReceivedEnvelope {
  readonly path: string;
  readonly header: Record<string, unknown>;
  readonly items: readonly EnvelopeItem[];
  /** The decompressed body as text, for "this string never leaves the process" checks. */
  readonly raw: string;
}

/** A running endpoint. */
export interface SentryEndpoint {
  /** `http://publickey@127.0.0.1:<port>/42` */
  readonly dsn: string;
  readonly envelopes: readonly ReceivedEnvelope[];
  /** Payloads of every `event` item so far, in arrival order. */
  events(): Record<string, any>[];
  /** Wait (up to `timeout` ms) until `count` events arrived; returns them. */
  waitForEvents(count: number, timeout?: number): Promise<Record<string, any>[]>;
  /** Number of requests received (answered or not). */
  requests(): number;
  close(): Promise<void>;
}

/** Start an endpoint on 127.0.0.1 and a free port. */
export async function startSentryEndpoint(options: { hang?: boolean } = {}): Promise<SentryEndpoint> {
  const envelopes: ReceivedEnvelope[] = [];
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '';
      if (req.method !== 'POST' || !/^\/api\/\d+\/envelope\/(?:\?|$)/.test(path)) {
        res.writeHead(404).end();
        return;
      }
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      envelopes.push({ path, ...parseEnvelope(body), raw: body.toString('utf8') });
      if (options.hang) return; // never answer
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const events = (): Record<string, any>[] =>
    envelopes.flatMap((e) => e.items.filter((i) => i.header.type === 'event').map((i) => i.payload as Record<string, any>));
  return {
    dsn: `http://publickey@127.0.0.1:${port}/42`,
    envelopes,
    events,
    async waitForEvents(count, timeout = 15_000) {
      await waitFor(() => events().length >= count, `${count} Sentry event(s) at the local endpoint (got ${events().length})`, timeout);
      return events();
    },
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * An envelope is newline-separated: a header line, then for each item a header line and a
 * payload that is `length` bytes long when the item header says so, else one line.
 */
export function parseEnvelope(body: Buffer): { header: Record<string, unknown>; items: EnvelopeItem[] } {
  let offset = 0;
  const line = (): Buffer => {
    let end = body.indexOf(0x0a, offset);
    if (end === -1) end = body.length;
    const out = body.subarray(offset, end);
    offset = end + 1;
    return out;
  };
  const header = JSON.parse(line().toString('utf8')) as Record<string, unknown>;
  const items: EnvelopeItem[] = [];
  while (offset < body.length) {
    const itemLine = line();
    if (itemLine.length === 0) continue;
    const itemHeader = JSON.parse(itemLine.toString('utf8')) as Record<string, unknown>;
    let payload: Buffer;
    if (typeof itemHeader.length === 'number') {
      payload = body.subarray(offset, offset + itemHeader.length);
      offset += itemHeader.length + 1;
    } else {
      payload = line();
    }
    const text = payload.toString('utf8');
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // an attachment or other non-JSON payload: keep the text
    }
    items.push({ header: itemHeader, payload: parsed });
  }
  return { header, items };
}
