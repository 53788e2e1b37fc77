/**
 * Sources added with `pool.addMetricSource`, over a real UDP socket: one that throws costs only
 * its own figures, never the pool's report of that interval.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MetricSource } from 'looppool';
import { makePool } from '../../helpers/pools.ts';
import { startUdpSink, type UdpSink } from './udp-sink.ts';

let sink: UdpSink | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await sink?.close();
  sink = undefined;
});

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

describe('pool metric sources', () => {
  it("a source that throws once does not lose the interval's crash count (reported once on stderr)", async () => {
    sink = await startUdpSink();
    const s = sink;
    const stderr = vi.spyOn(process.stderr, 'write');
    const pool = makePool({ worker: 'crash.ts', size: 1, name: 'src', statsd: { port: s.port, prefix: 'lp' }, reportInterval: 300 });
    let failNext = false;
    pool.addMetricSource(() => {
      if (failNext) {
        failNext = false;
        throw new Error('transient');
      }
      return { gauges: { mine: 1 } };
    });
    // Set by the same event that counts the crash: the report that carries the crash reads a throwing source.
    pool.on('workerExit', (info) => {
      if (!info.expected) failNext = true;
    });
    await pool.start();
    await expect(pool.run('exit')).rejects.toThrow();
    await s.until(() => sum(s.values('lp.src.crashes')) === 1, 'the crash to be counted');
    expect(failNext).toBe(false); // the source did throw
    await pool.stop();
    expect(s.values('lp.src.mine').length).toBeGreaterThan(0); // the source's figures, in the other reports
    expect(sum(s.values('lp.src.crashes'))).toBe(1);
    const lines = stderr.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('transient'));
    expect(lines).toHaveLength(1);
  });

  it("a source that throws during stop() does not lose the pool's last report", async () => {
    sink = await startUdpSink();
    const s = sink;
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true); // the source's error line, expected
    const pool = makePool({ worker: 'echo.ts', size: 1, name: 'fin', statsd: { port: s.port, prefix: 'lp' }, reportInterval: 300 });
    let broken = false;
    pool.addMetricSource(() => {
      if (broken) throw new Error('broken at the end');
      return {};
    });
    await pool.start();
    expect(await pool.run('x')).toBe('x');
    await s.until(() => s.values('lp.fin.workers').includes(1), 'a report with the worker ready');
    broken = true;
    await pool.stop(); // its last report says 0 workers, and statsd keeps that
    await s.until(() => s.values('lp.fin.workers').at(-1) === 0, 'the last report, with no worker');
    expect(sum(s.values('lp.fin.tasks.done'))).toBe(1);
  });

  it('a huge figure reaches statsd as digits, never in exponent notation', async () => {
    sink = await startUdpSink();
    const s = sink;
    const pool = makePool({ worker: 'echo.ts', size: 1, name: 'huge', statsd: { port: s.port, prefix: 'lp' }, reportInterval: 100 });
    pool.addMetricSource(() => ({ gauges: { big: 1e21 }, counters: { many: 2.5e22 } }));
    await pool.start();
    await s.until((r) => r.some((l) => l.name === 'lp.huge.big') && r.some((l) => l.name === 'lp.huge.many'), 'the figures');
    await pool.stop();
    const lines = new Set(s.received.filter((l) => l.name === 'lp.huge.big' || l.name === 'lp.huge.many').map((l) => l.line));
    expect([...lines]).toEqual(['lp.huge.big:1000000000000000000000|g', 'lp.huge.many:25000000000000000000000|c']);
  });

  it('a source added before start() stops being reported once its remover is called', async () => {
    sink = await startUdpSink();
    const s = sink;
    const pool = makePool({ worker: 'echo.ts', size: 1, name: 'early', statsd: { port: s.port, prefix: 'lp' }, reportInterval: 100 });
    let reads = 0;
    const remove = pool.addMetricSource(() => {
      reads++;
      return { gauges: { mine: 1 } };
    });
    await pool.start();
    await s.until(() => s.values('lp.early.mine').length > 0, "the source's figures");
    remove();
    const after = reads;
    await s.until((r) => r.filter((l) => l.name === 'lp.early.queued').length >= s.values('lp.early.mine').length + 3, 'three reports more');
    expect(reads).toBe(after);
    await pool.stop();
  });

  it("each broken source is reported on stderr, once: one source's error does not silence another's", async () => {
    sink = await startUdpSink();
    const s = sink;
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const pool = makePool({ worker: 'echo.ts', size: 1, name: 'two', statsd: { port: s.port, prefix: 'lp' }, reportInterval: 100 });
    pool.addMetricSource(() => {
      throw new Error('source A is broken');
    });
    pool.addMetricSource(() => {
      throw new Error('source B is broken');
    });
    await pool.start();
    await s.until((r) => r.filter((l) => l.name === 'lp.two.queued').length >= 3, 'a few reports');
    await pool.stop();
    const lines = stderr.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('PoolReporter'));
    expect(lines.filter((l) => l.includes('source A is broken'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('source B is broken'))).toHaveLength(1);
  });

  it('an async source is reported once on stderr as not synchronous; its rejections are not unhandled in the parent', async () => {
    sink = await startUdpSink();
    const s = sink;
    const stderr = vi.spyOn(process.stderr, 'write');
    const unhandled: unknown[] = [];
    const listener = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const pool = makePool({ worker: 'echo.ts', size: 1, name: 'asy', statsd: { port: s.port, prefix: 'lp' }, reportInterval: 100 });
      pool.addMetricSource((async () => {
        throw new Error('async source broke');
      }) as unknown as MetricSource);
      await pool.start();
      await s.until((r) => r.filter((l) => l.name === 'lp.asy.queued').length >= 3, 'a few reports');
      await pool.stop();
      await new Promise((resolve) => setImmediate(resolve)); // Node reports an unhandled rejection before this
      const lines = stderr.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('PoolReporter'));
      expect(lines).toEqual([expect.stringMatching(/got a promise: sources are called synchronously/)]);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });
});
