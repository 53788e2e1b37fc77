import { describe, expect, it, vi } from 'vitest';
import { ProcessProbe, type UsageReader } from '../../../src/metrics/process-probe.ts';
import { Reservoir } from '../../../src/metrics/reservoir.ts';

describe('ProcessProbe', () => {
  it('gives no CPU figure on the first reading of a pid (pidusage returns 0 then), and one afterwards', async () => {
    const read = vi.fn<UsageReader>(async (pids) => Object.fromEntries(pids.map((pid) => [pid, { cpu: 50, memory: pid * 10 }])));
    const probe = new ProcessProbe(read);
    expect(Object.fromEntries(await probe.sample([1, 2]))).toEqual({ 1: { cpu: undefined, rss: 10 }, 2: { cpu: undefined, rss: 20 } });
    expect(Object.fromEntries(await probe.sample([1, 2]))).toEqual({ 1: { cpu: 50, rss: 10 }, 2: { cpu: 50, rss: 20 } });
  });

  it('prime() takes the first reading early; forget() drops a pid', async () => {
    const read = vi.fn<UsageReader>(async (pids) => Object.fromEntries(pids.map((pid) => [pid, { cpu: 7, memory: 1 }])));
    const probe = new ProcessProbe(read);
    await probe.prime(3);
    expect((await probe.sample([3])).get(3)?.cpu).toBe(7);
    probe.forget(3);
    expect((await probe.sample([3])).get(3)?.cpu).toBeUndefined();
  });

  it('leaves out pids it cannot read and never rejects', async () => {
    const probe = new ProcessProbe(async () => ({ 1: { cpu: 1, memory: 1 }, 2: null }));
    expect([...(await probe.sample([1, 2])).keys()]).toEqual([1]);
    const failing = new ProcessProbe(async () => {
      throw new Error('No matching pid found');
    });
    expect((await failing.sample([9])).size).toBe(0);
    await failing.prime(9);
    expect((await new ProcessProbe().sample([])).size).toBe(0);
  });

  it('reads real processes with pidusage', async () => {
    const probe = new ProcessProbe();
    await probe.prime(process.pid);
    const end = Date.now() + 50;
    while (Date.now() < end); // spend some CPU between the two readings
    const usage = (await probe.sample([process.pid, 2 ** 22 + 12345])).get(process.pid);
    expect(usage?.rss).toBeGreaterThan(10_000_000);
    expect(usage?.cpu).toBeGreaterThan(0);
  });
});

describe('Reservoir', () => {
  it('keeps everything up to its size, then a sample of that size, with the exact count and max', () => {
    const r = new Reservoir(3, () => 0);
    r.add(5);
    r.add(1);
    expect(r.take()).toEqual({ samples: [5, 1], count: 2, max: 5 });
    for (const v of [1, 2, 3, 4, 50, 6]) r.add(v);
    const { samples, count, max } = r.take();
    expect(samples).toHaveLength(3);
    expect(count).toBe(6);
    expect(max).toBe(50);
    expect(r.take()).toEqual({ samples: [], count: 0, max: 0 });
  });

  it('replaces a kept value with probability size/count (algorithm R)', () => {
    const r = new Reservoir(2, () => 0.5); // slot = floor(0.5 * count): 1 when count is 3, 2 (not kept) when 4
    for (const v of [10, 20, 30, 40]) r.add(v);
    expect(r.take().samples).toEqual([10, 30]);
  });

  it('ignores values that are not finite numbers', () => {
    const r = new Reservoir(2);
    r.add(Number.NaN);
    r.add(Infinity);
    expect(r.take().count).toBe(0);
  });
});
