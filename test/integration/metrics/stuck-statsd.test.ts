/**
 * A statsd that is there but stuck: a resolver slow to answer for its host, or a TCP server that
 * accepts the connection and reads nothing. Neither may cost the process more than a bounded
 * amount of memory, of libuv's thread pool or of stderr, and metrics flow again once it recovers.
 */
import dns from 'node:dns';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createStatsd, type StatsdHandle } from '../../../src/metrics/index.ts';
import { waitFor } from '../../helpers/processes.ts';
import { startUdpSink, type UdpSink } from './udp-sink.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.restoreAllMocks();
});

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string, family: number) => void;

/** Lookups of `host` wait until `answer()`; any other host goes to the real resolver. */
function holdLookups(host: string): { readonly waiting: number; readonly started: number; answer(address: string): void } {
  const real = dns.lookup;
  const held: LookupCallback[] = [];
  let started = 0;
  const patched = (hostname: string, options: unknown, callback?: LookupCallback): void => {
    if (hostname !== host) return (real as (...args: unknown[]) => void)(hostname, options, callback);
    started++;
    held.push((typeof options === 'function' ? options : callback) as LookupCallback);
  };
  dns.lookup = patched as unknown as typeof dns.lookup;
  cleanups.push(() => {
    dns.lookup = real;
  });
  return {
    get waiting() {
      return held.length;
    },
    get started() {
      return started;
    },
    answer(address) {
      for (const callback of held.splice(0)) callback(null, address, 4);
    },
  };
}

describe('a statsd host whose DNS answer is slow to come', () => {
  it('is looked up once at a time, however many packets are sent meanwhile; they go out once it answers', async () => {
    const sink: UdpSink = await startUdpSink();
    cleanups.push(() => sink.close());
    const lookups = holdLookups('statsd.slow.test');
    // One packet per metric: hot-shots' own cache started a lookup (a thread of libuv's pool) for each.
    const handle = createStatsd({ host: 'statsd.slow.test', port: sink.port, maxBufferSize: 0, prefix: '' }, { onError: () => {} });
    cleanups.push(() => handle.close(500));
    for (let i = 0; i < 20; i++) handle.client.gauge(`slow.m${i}`, i);
    await waitFor(() => lookups.started > 0, 'a lookup of the host');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lookups.waiting).toBe(1);
    lookups.answer('127.0.0.1');
    await sink.until((lines) => lines.length >= 20, 'the 20 packets sent while the lookup ran');
    handle.client.gauge('slow.after', 1);
    await sink.until((lines) => lines.some((l) => l.name === 'slow.after'), 'a packet sent after the answer');
    expect(lookups.started).toBe(1); // the answer is kept
  });

  it('closing while a lookup still runs prints nothing (hot-shots said it gave up, in every process)', async () => {
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
    const lookups = holdLookups('statsd.hung.test');
    const handle = createStatsd({ host: 'statsd.hung.test', port: 8125 }, { onError: () => {} });
    handle.client.gauge('hung.m', 1);
    handle.client.flush();
    await waitFor(() => lookups.waiting === 1, 'the lookup of the host');
    await handle.close(1000);
    expect(printed).not.toHaveBeenCalled();
  });
});

describe('a TCP statsd that accepts the connection and reads nothing', () => {
  it('holds at most a bounded backlog: later batches are dropped, reported once, until it reads again', async () => {
    const connections: net.Socket[] = [];
    let bytes = 0;
    const server = net.createServer((socket) => {
      socket.pause(); // reads nothing, until resumed below
      socket.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      connections.push(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    cleanups.push(() => connections.forEach((socket) => socket.destroy()));
    const { port } = server.address() as net.AddressInfo;
    const errors: Error[] = [];
    // One write per metric, of 64 KiB each (a long name).
    const handle: StatsdHandle = createStatsd({ protocol: 'tcp', port, maxBufferSize: 0, prefix: '' }, { onError: (e) => errors.push(e) });
    cleanups.push(() => handle.close(500));
    await waitFor(() => connections.length === 1, 'the connection');
    // 64 MiB in all: before, every byte of it waited in the process's memory.
    const name = `stuck.${'x'.repeat(64 * 1024)}`;
    for (let i = 0; i < 1024; i++) handle.client.gauge(name, i);
    await waitFor(() => handle.errorCount > 0, 'the batches past the backlog to be dropped');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/reads nothing/);
    let text = '';
    connections[0]?.on('data', (chunk: Buffer) => {
      text = (text + chunk.toString('latin1')).slice(-64);
    });
    connections[0]?.resume();
    // Sent as a reporter sends, every little while: dropped until the backlog has gone out.
    const marker = (): boolean => {
      if (text.includes('stuck.marker:1|g')) return true;
      handle.client.gauge('stuck.marker', 1);
      return false;
    };
    await waitFor(marker, 'a metric sent once the server reads', 30_000);
    // What the server got before the marker: the kernel's buffers plus the bounded backlog, far from 64 MiB.
    expect(bytes).toBeLessThan(32 * 1024 * 1024);
  });
});
