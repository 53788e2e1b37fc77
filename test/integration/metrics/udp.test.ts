/**
 * Metrics over a real UDP socket on 127.0.0.1: a process reporting itself, and a pool reported
 * from its parent, including a worker whose event loop is blocked.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import StatsD from 'hot-shots';
import { afterEach, describe, expect, it } from 'vitest';
import { makePool } from '../../helpers/pools.ts';
import { waitFor } from '../../helpers/processes.ts';
import { LINE_PATTERN } from '../../unit/metrics/helpers.ts';
import { startUdpSink, type UdpSink } from './udp-sink.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const fixture = (name: string): string => path.resolve(here, '../../fixtures/metrics', name);

let sink: UdpSink | undefined;
afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

describe('metrics over UDP', () => {
  it('a process spinning its CPU reports high CPU, and exits by itself with its reporter running', async () => {
    sink = await startUdpSink();
    const child = spawn(process.execPath, ['--import', 'tsx', fixture('spin-and-report.ts'), String(sink.port), '1500'], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    // Unref'd timers: once the spinning is over nothing keeps the process alive.
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    const s = sink;
    await s.until((r) => r.some((l) => l.name === 'spin.cpu'), 'spin.cpu');
    for (const { line } of s.received) expect(line).toMatch(LINE_PATTERN);
    const names = new Set(s.received.map((l) => `${l.name}|${l.type}`));
    for (const name of ['cpu', 'rss', 'heap_used', 'heap_total', 'external', 'loop.utilization', 'loop.resources.total']) {
      expect(names).toContain(`spin.${name}|g`);
    }
    // A process spinning on one core reads close to 100 % (an idle one 0-3 %); > 20 leaves room
    // for a 2-core machine shared with other work (measured at load 6.5: 11-59 % per 100 ms).
    expect(Math.max(...s.values('spin.cpu'))).toBeGreaterThan(20);
    expect(Math.max(...s.values('spin.rss'))).toBeGreaterThan(10_000_000);
  });

  it("a plain Worker's last report after a stop that abandoned its task has nothing in flight", async () => {
    sink = await startUdpSink();
    const pool = makePool({ worker: 'sleep.ts', size: 1, name: 'abn', statsd: { port: sink.port, prefix: 'lp' }, reportInterval: 100 });
    const abandoned = pool.run({ ms: 60_000 }).catch((e: unknown) => e);
    const s = sink;
    const inFlight = () => s.values('lp.abn.worker.0.tasks.in_flight');
    await s.until(() => inFlight().includes(1), 'the worker to report its task in flight');
    await pool.stop(); // a plain Worker abandons the task; its last report goes out before it exits
    expect(await abandoned).toBeInstanceOf(Error);
    // Before: the last report said 1, which statsd kept as the worker's gauge.
    await s.until(() => inFlight().at(-1) === 0, 'the last report to have nothing in flight');
  });

  it('a worker that exits after an escaped error sends its last report first: the tasks it finished count', async () => {
    sink = await startUdpSink();
    // No periodic report before the exit: only the last one can carry the tasks.
    const pool = makePool({ worker: 'escapes.ts', size: 1, name: 'esc', statsd: { port: sink.port, prefix: 'lp' }, reportInterval: 60_000 });
    const escaped: Error[] = [];
    pool.on('workerError', (err) => escaped.push(err));
    let starts = 0;
    pool.on('workerStart', () => starts++);
    await pool.start();
    for (let i = 0; i < 10; i++) await pool.run('pid');
    expect(await pool.run('throw')).toBe('ok'); // answered, then an error escapes from a timer and the worker exits
    await waitFor(() => starts === 2, 'the replacement worker');
    expect(escaped).toHaveLength(1);
    await pool.stop();
    const s = sink;
    const sum = (name: string): number => s.values(name).reduce((a, b) => a + b, 0);
    await s.until(() => sum('lp.esc.tasks.done') === 11, "the pool's count");
    await s.until(() => sum('lp.esc.worker.0.tasks.done') === 11, "the workers' counts, the exited one's included");
  });

  it("a UDP client of yours whose buffer exceeds a datagram: its workers still start and report (they get one datagram's worth)", async () => {
    sink = await startUdpSink();
    const client = new StatsD({ host: '127.0.0.1', port: sink.port, prefix: 'lp', maxBufferSize: 100_000 });
    try {
      const pool = makePool({ worker: 'echo.ts', size: 1, name: 'big', statsd: client, reportInterval: 100 });
      await pool.start();
      const s = sink;
      await s.until((r) => r.some((l) => l.name === 'lp.big.worker.0.cpu'), 'the worker to report');
      await pool.stop();
    } finally {
      await new Promise<void>((resolve) => client.close(() => resolve()));
    }
  });

  it('the parent still measures a worker whose event loop is blocked, and the worker reports the block afterwards', async () => {
    sink = await startUdpSink();
    const pool = makePool({ worker: fixture('busy-worker.ts'), size: 1, name: 'blk', statsd: { port: sink.port, prefix: 'lp' }, reportInterval: 200 });
    await pool.start();
    let settled = false;
    let cpuWhileBlocked = 0;
    sink.onLine = (l) => {
      if (l.name === 'lp.blk.worker.0.os.cpu' && !settled) cpuWhileBlocked = Math.max(cpuWhileBlocked, l.value);
    };
    const result = await pool.run({ spinMs: 3000, value: 'spun' }).finally(() => (settled = true));
    expect(result).toBe('spun');
    // pidusage read the child's CPU from /proc while its loop could not run any callback.
    expect(cpuWhileBlocked).toBeGreaterThan(20);
    const s = sink;
    // Once unblocked, the worker's own histogram holds the ~3 s delay (a lower bound, minus the 10 ms resolution).
    await s.until((r) => r.some((l) => l.name === 'lp.blk.worker.0.loop.delay_max' && l.value >= 2000), 'the worker to report the blocked loop');
    await s.until((r) => r.filter((l) => l.name === 'lp.blk.worker.0.tasks.done').reduce((n, l) => n + l.value, 0) === 1, 'the worker to count its task');
    await pool.stop(); // the last reports go out
    const types = new Map(s.received.map((l) => [l.name, l.type]));
    expect(Object.fromEntries(['lp.blk.queued', 'lp.blk.in_flight', 'lp.blk.throughput', 'lp.blk.workers', 'lp.blk.worker.0.os.rss', 'lp.blk.worker.0.in_flight', 'lp.blk.parent.cpu'].map((n) => [n, types.get(n)]))).toEqual({
      'lp.blk.queued': 'g', 'lp.blk.in_flight': 'g', 'lp.blk.throughput': 'g', 'lp.blk.workers': 'g', 'lp.blk.worker.0.os.rss': 'g',
      'lp.blk.worker.0.in_flight': 'g', 'lp.blk.parent.cpu': 'g',
    });
    expect(types.get('lp.blk.tasks.done')).toBe('c');
    expect(s.values('lp.blk.tasks.done').reduce((a, b) => a + b, 0)).toBe(1);
    expect(types.get('lp.blk.task.run')).toBe('ms');
    expect(s.values('lp.blk.task.run')[0]).toBeGreaterThanOrEqual(3000);
    for (const { line } of s.received) expect(line).toMatch(LINE_PATTERN);
  });

  it('a worker holding Buffers reports them as `external`, beside `rss`: `heap_used` does not hold them', async () => {
    sink = await startUdpSink();
    const pool = makePool({ worker: 'holds-memory.ts', size: 1, name: 'ext', statsd: { port: sink.port, prefix: 'lp' }, reportInterval: 100 });
    const holding = pool.run({ mib: 64 }).catch((e: unknown) => e); // holds 64 MiB of Buffer until the stop
    const s = sink;
    const held = 64 * 1024 * 1024;
    // Before, nothing sent told where such memory was: rss grew, heap_used did not.
    await s.until(() => s.values('lp.ext.worker.0.external').some((v) => v >= held), 'the worker to report its Buffers as external');
    await s.until(() => s.values('lp.ext.worker.0.rss').some((v) => v >= held), 'the worker to report them in its rss');
    expect(Math.max(...s.values('lp.ext.worker.0.heap_used'))).toBeLessThan(held);
    await pool.stop();
    expect(await holding).toBeInstanceOf(Error);
  });

  it("a stopped pool keeps no descriptor of pidusage's open, not even on its own process", async () => {
    // Before: pidusage's warm-up reading kept /proc/<parent pid>/stat open 60-90 s after the stop
    // (1.5 reportIntervals with a longer interval).
    sink = await startUdpSink();
    const own = `/proc/${process.pid}/stat`;
    const held = (): boolean => readdirSync('/proc/self/fd').some((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === own;
      } catch {
        return false; // closed meanwhile (this very listing's)
      }
    });
    const pool = makePool({ worker: 'echo.ts', size: 1, statsd: { port: sink.port } });
    await pool.start();
    await pool.run(1);
    await pool.stop();
    await waitFor(() => !held(), `${own} to be closed`, 5_000);
  });
});
