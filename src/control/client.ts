/** The client side of the control channel, used by `looppool top` and `looppool stop`. */
import net from 'node:net';
import { ControlChannelError, ControlNoAnswerError } from './errors.ts';
import type { ControlEvent, ControlResponse } from './protocol.ts';

type Request = { op: 'stats' } | { op: 'stop'; drain?: boolean } | { op: 'events' };

/**
 * Send one request to the control socket at `path` and resolve with the response's `result`.
 * @throws {ControlNoAnswerError} when the request was sent but not answered within `timeoutMs`
 * (the pool will still read it, unless it exits first).
 * @throws {ControlChannelError} when the socket cannot be reached, hangs up or the pool refused.
 */
export function controlRequest(path: string, request: Request, timeoutMs = 2000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let sent = false;
    const fail = (message: string, cause?: unknown): void => {
      socket.destroy();
      reject(new ControlChannelError(`Control socket ${path}: ${message}`, cause === undefined ? undefined : { cause }));
    };
    socket.setTimeout(timeoutMs, () => {
      if (!sent) return fail(`no connection within ${timeoutMs} ms`);
      socket.destroy();
      reject(new ControlNoAnswerError(`Control socket ${path}: the request was sent, but not answered within ${timeoutMs} ms`));
    });
    socket.on('error', (err) => fail(err.message, err));
    socket.on('connect', () => {
      sent = true; // in the pool's socket buffer now: a pool that does not answer yet will still read it
      socket.write(`${JSON.stringify({ id: 1, ...request })}\n`);
    });
    readLines(socket, (line) => {
      const response = JSON.parse(line) as ControlResponse;
      socket.destroy();
      if (response.ok) resolve(response.result);
      else fail(`${response.error.name}: ${response.error.message}`);
      return false;
    });
    socket.on('close', () => fail('closed before answering'));
  });
}

/**
 * Stream the pool's events: `onEvent` for each until the returned function is called or the
 * pool goes away (`onClose`).
 */
export function subscribeControlEvents(path: string, onEvent: (event: ControlEvent) => void, onClose: () => void = () => {}): () => void {
  const socket = net.connect(path);
  let acknowledged = false;
  socket.on('error', () => socket.destroy());
  socket.on('close', onClose);
  socket.on('connect', () => socket.write(`${JSON.stringify({ id: 1, op: 'events' })}\n`));
  readLines(socket, (line) => {
    if (!acknowledged) acknowledged = true;
    else onEvent(JSON.parse(line) as ControlEvent);
    return true;
  });
  return () => socket.destroy();
}

/** Call `onLine` per line until it returns false. */
function readLines(socket: net.Socket, onLine: (line: string) => boolean): void {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let more: boolean;
      try {
        more = onLine(line);
      } catch {
        socket.destroy();
        return;
      }
      if (!more) return;
    }
  });
}
