/** A statsd stand-in for tests: a UDP socket on 127.0.0.1 that keeps every line it receives. */
import dgram from 'node:dgram';
import { waitFor } from '../../helpers/processes.ts';

export interface Received {
  readonly line: string;
  readonly name: string;
  readonly value: number;
  readonly type: string;
  readonly tags: readonly string[];
}

export interface UdpSink {
  readonly port: number;
  readonly received: Received[];
  /** Called for each line as it arrives. */
  onLine: ((line: Received) => void) | undefined;
  /** Values received for `name`, in order. */
  values(name: string): number[];
  /** Wait (up to `timeout` ms) until `check` holds for the lines received so far. */
  until(check: (received: readonly Received[]) => boolean, what: string, timeout?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startUdpSink(): Promise<UdpSink> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const sink: UdpSink = {
    port: socket.address().port,
    received: [],
    onLine: undefined,
    values: (name) => sink.received.filter((r) => r.name === name).map((r) => r.value),
    until: (check, what, timeout = 15_000) => waitFor(() => check(sink.received), what, timeout),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (message) => {
    for (const line of message.toString('utf8').split('\n')) {
      if (line === '') continue;
      const m = /^([^:]+):(-?[\d.]+)\|([a-z]+)(?:\|#(.+))?$/.exec(line);
      const received = { line, name: m?.[1] ?? '', value: Number(m?.[2]), type: m?.[3] ?? '', tags: m?.[4]?.split(',') ?? [] };
      sink.received.push(received);
      sink.onLine?.(received);
    }
  });
  return sink;
}
