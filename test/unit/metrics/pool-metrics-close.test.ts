import dgram from 'node:dgram';
import StatsD from 'hot-shots';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PoolSource } from '../../../src/metrics/pool-reporter.ts';

/** pidusage's readings, held until the test answers them: as slow as when many pools read one at a time. */
const reads: Array<() => void> = [];
vi.mock('../../../src/metrics/process-probe.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../../src/metrics/process-probe.ts')>()),
  pidusageReader: () => () => new Promise((resolve) => reads.push(() => resolve({}))),
}));
const { startPoolMetrics } = await import('../../../src/metrics/pool-metrics.ts');

const source = {
  stats: () => ({ queued: 0, inFlight: 0, done: 0, failed: 0, restarts: 0, handedBack: 0, workers: [{ worker: 0, pid: 100, state: 'ready', inFlight: 0 }] }),
  on: () => {},
  off: () => {},
} as unknown as PoolSource;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
let sink: dgram.Socket | undefined;
afterEach(() => {
  sink?.close();
  sink = undefined;
  reads.length = 0;
});

describe('startPoolMetrics close()', () => {
  it('sends nothing once it has closed the client: a report still waiting for its readings goes out before', async () => {
    // Before: close() sent its last report and closed the client while a tick's report waited for
    // pidusage; that one then went to the closed socket, and each pool printed "Not running" on stderr.
    sink = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sink?.bind(0, '127.0.0.1', resolve));
    const errors: Error[] = [];
    const metrics = startPoolMetrics(source, { host: '127.0.0.1', port: sink.address().port }, { name: 'late', interval: 1, onError: (e) => errors.push(e) });
    // warmUp and the worker's first reading, then a tick's report waiting for its own.
    while (reads.length < 3) await new Promise((resolve) => setTimeout(resolve, 1));
    const clientClose = vi.spyOn(StatsD.prototype, 'close');
    const before = reads.splice(0); // warmUp, the worker's first reading, the tick's
    const closing = metrics.close();
    // Answer what the close itself asks for; the tick's reading only once the close waits for
    // nothing else of ours (the fixed close waits for that report before it closes the client).
    for (let idle = 0; clientClose.mock.calls.length === 0; ) {
      await turn();
      const next = reads.shift();
      if (next !== undefined) {
        next();
        idle = 0;
      } else if (++idle === 3) before.pop()?.();
    }
    clientClose.mockRestore();
    await closing;
    for (const answer of [...before, ...reads.splice(0)]) answer();
    for (let i = 0; i < 5; i++) await turn();
    expect(errors).toEqual([]);
  });
});
