/**
 * Against the real Etsy statsd daemon (`statsd` 0.9.0): a running pool's metrics arrive with the
 * documented names and types and plausible values, read back from the daemon's management port.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveStatsdOptions, startWorkerMetrics } from '../../../src/metrics/index.ts';
import { makePool } from '../../helpers/pools.ts';
import { waitFor } from '../../helpers/processes.ts';
import { startStatsdDaemon, type Dump, type StatsdDaemon } from './statsd-daemon.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const busyWorker = path.resolve(here, '../../fixtures/metrics/busy-worker.ts');

let daemon: StatsdDaemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

const num = (dump: Dump, key: string): number => {
  const value = dump[key];
  if (typeof value !== 'number') throw new Error(`${key} is not a number in ${JSON.stringify(Object.keys(dump))}`);
  return value;
};

describe('metrics in the Etsy statsd daemon', () => {
  it('a pool and its workers: gauges, counters that add up to the task count, and task timers', async () => {
    const d = (daemon = await startStatsdDaemon());
    const pool = makePool({ worker: busyWorker, size: 2, name: 'etsy', statsd: { port: d.port }, reportInterval: 100 });
    await Promise.all(Array.from({ length: 30 }, (_, i) => pool.run({ value: i, spinMs: 5 })));
    await pool.stop(); // each worker sends a last report before it exits, and so does the parent

    await waitFor(async () => (await d.dump('counters'))['looppool.etsy.tasks.done'] === 30, 'the pool counter to reach 30');
    const counters = await d.dump('counters');
    expect(num(counters, 'looppool.etsy.tasks.failed')).toBe(0);
    expect(num(counters, 'looppool.etsy.crashes')).toBe(0);
    expect(num(counters, 'looppool.etsy.restarts')).toBe(0);
    // The workers count their own tasks; together they did all 30.
    await waitFor(async () => {
      const c = await d.dump('counters');
      return (c['looppool.etsy.worker.0.tasks.done'] as number ?? 0) + (c['looppool.etsy.worker.1.tasks.done'] as number ?? 0) === 30;
    }, 'the workers\' counters to add up to 30');

    const gauges = await d.dump('gauges');
    for (const n of [0, 1]) {
      const w = `looppool.etsy.worker.${n}`;
      expect(num(gauges, `${w}.cpu`)).toBeGreaterThanOrEqual(0);
      expect(num(gauges, `${w}.rss`)).toBeGreaterThan(10_000_000);
      expect(num(gauges, `${w}.heap_used`)).toBeGreaterThan(0);
      expect(num(gauges, `${w}.heap_total`)).toBeGreaterThanOrEqual(num(gauges, `${w}.heap_used`));
      expect(num(gauges, `${w}.loop.utilization`)).toBeLessThanOrEqual(100);
      expect(num(gauges, `${w}.loop.delay_p99`)).toBeGreaterThanOrEqual(0);
      expect(num(gauges, `${w}.loop.resources.total`)).toBeGreaterThan(0); // the pipes to the parent at least
      expect(num(gauges, `${w}.tasks.in_flight`)).toBe(0);
      expect(num(gauges, `${w}.os.rss`)).toBeGreaterThan(10_000_000); // sampled by the parent
      expect(num(gauges, `${w}.in_flight`)).toBeGreaterThanOrEqual(0);
    }
    expect(num(gauges, 'looppool.etsy.queued')).toBe(0);
    expect(num(gauges, 'looppool.etsy.throughput')).toBeGreaterThanOrEqual(0);
    expect(num(gauges, 'looppool.etsy.parent.rss')).toBeGreaterThan(10_000_000);
    expect(num(gauges, 'looppool.etsy.task.run_max')).toBeGreaterThanOrEqual(5);

    const timers = await d.dump('timers');
    const runs = timers['looppool.etsy.task.run'];
    expect(Array.isArray(runs) && runs.length).toBe(30);
    expect(Math.min(...(runs as number[]))).toBeGreaterThanOrEqual(5); // each task spun 5 ms
  });

  it('with tags on, pool and worker arrive as tags (Graphite-tagged names in Etsy statsd)', async () => {
    const d = (daemon = await startStatsdDaemon());
    const worker = startWorkerMetrics({ statsd: resolveStatsdOptions({ port: d.port, tags: true }), pool: 'tg', interval: 60_000 }, 5);
    worker.tasks.started();
    worker.tasks.settled(true);
    await worker.close(500);
    await waitFor(async () => 'looppool.worker.tasks.done;pool=tg;worker=5' in (await d.dump('counters')), 'the tagged counter');
    expect(num(await d.dump('counters'), 'looppool.worker.tasks.done;pool=tg;worker=5')).toBe(1);
    const gauges = await d.dump('gauges');
    expect(num(gauges, 'looppool.worker.rss;pool=tg;worker=5')).toBeGreaterThan(10_000_000);
    expect(Object.keys(gauges).some((k) => k.startsWith('looppool.tg.'))).toBe(false);
  });
});
