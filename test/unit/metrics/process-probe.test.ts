import { describe, expect, it, vi } from 'vitest';
import { ProcessProbe, type UsageReader } from '../../../src/metrics/process-probe.ts';
import { prng } from '../../helpers/prng.ts';
import { Reservoir } from '../../../src/metrics/reservoir.ts';

/** A reader on a clock of its own: each call 1 s later, every pid having used `share` of a core meanwhile (pidusage's own `cpu`: 0, as after another caller's reading). */
function fakeReader(share = 0.5) {
  let now = 0;
  return vi.fn<UsageReader>(async (pids) => {
    now += 1000;
    return Object.fromEntries(pids.map((pid) => [pid, Object.assign({ memory: pid * 10, ctime: now * share, timestamp: now }, { cpu: 0 })]));
  });
}

describe('ProcessProbe', () => {
  it('gives no CPU figure on the first reading of a pid, and one afterwards: the CPU time used since its own previous reading', async () => {
    const probe = new ProcessProbe(fakeReader());
    expect(Object.fromEntries(await probe.sample([1, 2]))).toEqual({ 1: { cpu: undefined, rss: 10 }, 2: { cpu: undefined, rss: 20 } });
    expect(Object.fromEntries(await probe.sample([1, 2]))).toEqual({ 1: { cpu: 50, rss: 10 }, 2: { cpu: 50, rss: 20 } });
  });

  it("is not pidusage's own CPU figure, which another reading of the same pid in between (the pool's memory check) resets", async () => {
    // Before: the figure was pidusage's, since its last reading of the pid by anyone: a report
    // after the memory check's read each second gave that last second's, near 0 for a bursty worker.
    const read = fakeReader(0.25);
    const probe = new ProcessProbe(read);
    await probe.prime(1);
    await read([1]); // someone else's reading
    expect((await probe.sample([1])).get(1)?.cpu).toBe(25);
  });

  it('prime() takes the first reading early; forget() drops a pid', async () => {
    const probe = new ProcessProbe(fakeReader(0.125));
    await probe.prime(3);
    expect((await probe.sample([3])).get(3)?.cpu).toBe(12.5);
    probe.forget(3);
    expect((await probe.sample([3])).get(3)?.cpu).toBeUndefined();
  });

  it('warmUp() reads this process once and primes nothing', async () => {
    const read = fakeReader();
    const probe = new ProcessProbe(read);
    await probe.warmUp();
    expect(read.mock.calls).toEqual([[[process.pid]]]);
    expect((await probe.sample([process.pid])).get(process.pid)?.cpu).toBeUndefined();
  });

  it('leaves out pids it cannot read and never rejects', async () => {
    const probe = new ProcessProbe(async () => ({ 1: { memory: 1, ctime: 1, timestamp: 1 }, 2: null }));
    expect([...(await probe.sample([1, 2])).keys()]).toEqual([1]);
    const failing = new ProcessProbe(async () => {
      throw new Error('No matching pid found');
    });
    expect((await failing.sample([9])).size).toBe(0);
    await failing.prime(9);
    await failing.warmUp();
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

  it('keeps every value with the same probability, size/count, drawing far fewer random numbers than values', () => {
    // 20,000 rounds of 1..100 into a reservoir of 5: each value should be kept 20,000 × 5/100 = 1,000 times.
    let draws = 0;
    const random = prng(7);
    const counted = (): number => {
      draws++;
      return random();
    };
    const kept = new Array<number>(101).fill(0);
    const r = new Reservoir(5, counted);
    for (let round = 0; round < 20_000; round++) {
      for (let v = 1; v <= 100; v++) r.add(v);
      const { samples, count, max } = r.take();
      expect(samples).toHaveLength(5);
      expect(new Set(samples).size).toBe(5);
      expect([count, max]).toEqual([100, 100]);
      for (const v of samples) kept[v]!++;
    }
    // Binomial(20,000, 0.05): sd ≈ 31; 5 sd either side.
    for (let v = 1; v <= 100; v++) expect(kept[v], `value ${v}`).toBeGreaterThan(845);
    for (let v = 1; v <= 100; v++) expect(kept[v], `value ${v}`).toBeLessThan(1155);
    // Algorithm R draws one per value past the first 5 (95 a round); L three per value it keeps,
    // about 3 × 5 × ln(100/5) ≈ 45 a round, plus 2.
    expect(draws / 20_000).toBeGreaterThan(40);
    expect(draws / 20_000).toBeLessThan(55);
  });

  it('ignores values that are not finite numbers', () => {
    const r = new Reservoir(2);
    r.add(Number.NaN);
    r.add(Infinity);
    expect(r.take().count).toBe(0);
  });
});
