/**
 * A TCP statsd that restarts, or that starts after the pool, gets the pool's metrics again: the
 * parent and every worker make a new connection when theirs closes. hot-shots alone made one only
 * on a socket error more than a second after the socket was made, so a server that closed the
 * connection or refused the first one got nothing more from that process.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createStatsd, ResourceReporter } from '../../../src/metrics/index.ts';
import { makePool } from '../../helpers/pools.ts';
import { waitFor } from '../../helpers/processes.ts';

/** A TCP statsd stand-in that keeps every line, and can go down and come back on its port. */
class TcpSink {
  readonly lines: string[] = [];
  connections = 0;
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();
  port = 0;

  async listen(port = this.port): Promise<void> {
    const server = net.createServer((socket) => {
      this.connections++;
      this.#sockets.add(socket);
      let rest = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop() ?? '';
        this.lines.push(...parts.filter((line) => line !== ''));
      });
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.#server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  /** Close every connection and stop listening (a statsd restart's first half). */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Lines received from the `from`th on whose metric name starts with `part`. */
  count(part: string, from = 0): number {
    return this.lines.slice(from).filter((line) => line.startsWith(part)).length;
  }
}

/** A TCP port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const sink = new TcpSink();
  await sink.listen(0);
  await sink.down();
  return sink.port;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a TCP statsd that goes away and comes back', () => {
  it('gets the metrics of the parent and of every worker again after a restart', async () => {
    const sink = new TcpSink();
    await sink.listen(0);
    cleanups.push(() => sink.down());
    const pool = makePool({ worker: 'echo.ts', size: 2, name: 'tcpr', statsd: { protocol: 'tcp', port: sink.port, prefix: 'lp' }, reportInterval: 50 });
    cleanups.push(() => pool.stop());
    await pool.start();
    await pool.run(1);
    // heap_used is what each process reports of itself (the parent's worker.<n>.os.* are its samples of them)
    const own = ['lp.tcpr.parent.heap_used', 'lp.tcpr.worker.0.heap_used', 'lp.tcpr.worker.1.heap_used'];
    await waitFor(() => own.every((name) => sink.count(name) > 0), 'metrics from the parent and both workers');

    await sink.down();
    await sink.listen();
    const from = sink.lines.length;
    await waitFor(
      () => own.every((name) => sink.count(name, from) > 0),
      'metrics from the parent and both workers after the restart',
      20_000,
    );
    expect(await pool.run(2)).toBe(2);
    expect(pool.stats()).toMatchObject({ restarts: 0, failed: 0 });
  });

  it('gets the metrics once a server that refused the first connection is up', async () => {
    const port = await closedPort();
    const errors: Error[] = [];
    const handle = createStatsd({ protocol: 'tcp', port }, { onError: (e) => errors.push(e) });
    const reporter = new ResourceReporter(handle.client, 'late', { interval: 50 });
    reporter.start();
    cleanups.push(async () => {
      reporter.stop();
      await handle.close(300);
    });
    await waitFor(() => handle.errorCount >= 2, 'the refused connection and a failed send');

    const sink = new TcpSink();
    await sink.listen(port);
    cleanups.push(() => sink.down());
    await waitFor(() => sink.count('looppool.late.') > 0, 'metrics once the server is up', 20_000);
    expect(handle.reconnects).toBeGreaterThanOrEqual(1);
    expect(errors).toHaveLength(1); // still reported once
  });

  it('makes no new connection once closed', async () => {
    const sink = new TcpSink();
    await sink.listen(0);
    cleanups.push(() => sink.down());
    const handle = createStatsd({ protocol: 'tcp', port: sink.port }, { onError: () => undefined });
    const reporter = new ResourceReporter(handle.client, 'closed', { interval: 50 });
    reporter.start();
    await waitFor(() => sink.count('looppool.closed.') > 0, 'the first metrics');
    reporter.stop();
    await handle.close(300);
    await sink.down();
    await sink.listen();
    // the first attempt of a live client comes 1 s after its connection closed: wait well past it
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(sink.connections).toBe(1);
    expect(handle.reconnects).toBe(0);
  });
});
