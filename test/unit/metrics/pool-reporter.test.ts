import { EventEmitter } from 'node:events';
import StatsD from 'hot-shots';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import type { Pool } from 'looppool';
import { PoolReporter, type PoolSnapshot, type PoolSource } from '../../../src/metrics/pool-reporter.ts';
import type { ProcessUsage } from '../../../src/metrics/process-probe.ts';
import { FakeClock, LINE_PATTERN, parseAll, type Line } from './helpers.ts';
import { changingGetter, expectUnreadable, failureOf, throwingGetter } from '../../helpers/getters.ts';

type MutableSnapshot = { -readonly [K in keyof PoolSnapshot]: PoolSnapshot[K] };

class FakePool extends EventEmitter {
  snapshot: MutableSnapshot = {
    queued: 0,
    inFlight: 0,
    done: 0,
    failed: 0,
    restarts: 0,
    handedBack: 0,
    workers: [
      { worker: 0, pid: 100, state: 'ready', inFlight: 0 },
      { worker: 1, pid: 101, state: 'ready', inFlight: 0 },
    ],
  };
  stats(): PoolSnapshot {
    return structuredClone(this.snapshot);
  }
}

function setup(options: { tags?: boolean; reservoirSize?: number } = {}) {
  const clock = new FakeClock();
  const client = new StatsD({ mock: true });
  const pool = new FakePool();
  const usage = new Map<number, ProcessUsage>([
    [100, { cpu: 99.5, rss: 80_000_000 }],
    [101, { cpu: undefined, rss: 60_000_000 }],
  ]);
  const probe = { warmUp: vi.fn(async () => {}), prime: vi.fn(async (_pid: number) => {}), forget: vi.fn((_pid: number) => {}), sample: vi.fn(async (pids: readonly number[]) => new Map([...usage].filter(([pid]) => pids.includes(pid)))) };
  const onError = vi.fn();
  const reporter = new PoolReporter(client, pool as unknown as PoolSource, {
    name: 'demo', interval: 2000, clock, probe, onError, random: () => 0.999, ...options,
  });
  const take = (): Line[] => {
    const lines = parseAll(client.mockBuffer as string[]);
    (client.mockBuffer as string[]).length = 0;
    return lines;
  };
  const byName = (lines: Line[]) => Object.fromEntries(lines.filter((l) => l.type !== 'ms').map((l) => [l.name, `${l.value}|${l.type}`]));
  return { clock, client, pool, probe, usage, onError, reporter, take, byName };
}

describe('PoolReporter', () => {
  it('reports queue, in flight, throughput, counters and every worker measured from outside', async () => {
    const { clock, pool, reporter, take, byName, probe } = setup();
    reporter.start();
    expect(probe.warmUp).toHaveBeenCalledTimes(1); // pidusage's costly first call, as the pool starts
    expect(probe.prime.mock.calls.map((c) => c[0])).toEqual([100, 101]);
    Object.assign(pool.snapshot, { queued: 5, inFlight: 3, done: 40, failed: 2, restarts: 1, handedBack: 7 });
    pool.snapshot.workers = [
      { worker: 0, pid: 100, state: 'ready', inFlight: 2 },
      { worker: 1, pid: 101, state: 'starting', inFlight: 1 },
    ];
    await clock.advance(2000);
    expect(probe.sample).toHaveBeenCalledWith([100, 101]);
    expect(byName(take())).toEqual({
      'demo.workers': '1|g',
      'demo.queued': '5|g',
      'demo.in_flight': '3|g',
      'demo.tasks.done': '40|c',
      'demo.tasks.failed': '2|c',
      'demo.throughput': '20|g',
      'demo.restarts': '1|c',
      'demo.tasks.handed_back': '7|c',
      'demo.crashes': '0|c',
      'demo.timeouts': '0|c',
      'demo.blocked_loops': '0|c',
      'demo.worker.0.in_flight': '2|g',
      'demo.worker.1.in_flight': '1|g',
      'demo.worker.0.os.cpu': '99.5|g',
      'demo.worker.0.os.rss': '80000000|g',
      'demo.worker.1.os.rss': '60000000|g', // no CPU figure yet for a pid read once
      'demo.os.rss_total': '140000000|g',
      'demo.os.cpu_total': '99.5|g',
      'demo.os.cpu_mean': '99.5|g',
    });
    Object.assign(pool.snapshot, { done: 50, handedBack: 9 });
    await clock.advance(2000);
    expect(byName(take())).toMatchObject({ 'demo.tasks.done': '10|c', 'demo.throughput': '5|g', 'demo.restarts': '0|c', 'demo.tasks.handed_back': '2|c' });
    reporter.stop();
  });

  it('sends the pool CPU as 0 once no worker runs (a stop\'s last report), and not while the first readings are missing', async () => {
    // Before: left unsent, statsd kept the last figure: a pool stopped while busy stayed at 99.5%, its CPU alarm firing.
    const { clock, pool, reporter, take, byName } = setup();
    reporter.start();
    pool.snapshot.workers = [{ worker: 0, pid: 100, state: 'ready', inFlight: 2 }];
    await clock.advance(2000);
    expect(byName(take())).toMatchObject({ 'demo.os.cpu_total': '99.5|g', 'demo.os.cpu_mean': '99.5|g' });
    pool.snapshot.workers = [{ worker: 1, pid: 101, state: 'starting', inFlight: 0 }]; // read once: no CPU figure yet
    await clock.advance(2000);
    const starting = byName(take());
    expect([starting['demo.os.cpu_total'], starting['demo.os.cpu_mean']]).toEqual([undefined, undefined]);
    pool.snapshot.workers = [{ worker: 0, pid: 100, state: 'exited', inFlight: 0 }];
    await clock.advance(2000);
    expect(byName(take())).toMatchObject({ 'demo.os.rss_total': '0|g', 'demo.os.cpu_total': '0|g', 'demo.os.cpu_mean': '0|g' });
    pool.snapshot.workers = [];
    await reporter.report();
    expect(byName(take())).toMatchObject({ 'demo.os.rss_total': '0|g', 'demo.os.cpu_total': '0|g', 'demo.os.cpu_mean': '0|g' });
    reporter.stop();
  });

  it('counts crashes (unexpected exits), timeouts and blocked loops per interval', async () => {
    const { clock, pool, reporter, take, byName, probe } = setup();
    reporter.start();
    pool.emit('workerStart', { worker: 0, pid: 200 });
    expect(probe.prime).toHaveBeenLastCalledWith(200);
    pool.emit('workerExit', { worker: 0, pid: 100, exitCode: 1, signal: null, expected: false });
    pool.emit('workerExit', { worker: 1, pid: 101, exitCode: 0, signal: null, expected: true });
    expect(probe.forget.mock.calls.map((c) => c[0])).toEqual([100, 101]);
    reporter.countTimeout();
    reporter.countBlockedLoop(1);
    reporter.countBlockedLoop(1);
    await clock.advance(2000);
    expect(byName(take())).toMatchObject({
      'demo.crashes': '1|c', 'demo.timeouts': '1|c', 'demo.blocked_loops': '2|c', 'demo.worker.1.blocked_loops': '2|c',
    });
    await clock.advance(2000);
    const second = byName(take());
    expect(second).toMatchObject({ 'demo.crashes': '0|c', 'demo.timeouts': '0|c', 'demo.blocked_loops': '0|c' });
    expect(second['demo.worker.1.blocked_loops']).toBeUndefined();
  });

  it('aggregates task timings: at most reservoirSize lines per timing and interval, with the exact max', async () => {
    const { clock, reporter, take } = setup({ reservoirSize: 10 });
    reporter.start();
    for (let i = 1; i <= 1000; i++) reporter.recordTask(i / 10, i, i % 10 !== 0);
    await clock.advance(2000);
    const lines = take();
    const timings = (name: string) => lines.filter((l) => l.name === name && l.type === 'ms').map((l) => l.value);
    expect(timings('demo.task.wait')).toHaveLength(10);
    expect(timings('demo.task.run')).toHaveLength(10);
    expect(timings('demo.task.run_failed')).toHaveLength(10);
    const gauges = Object.fromEntries(lines.filter((l) => l.type === 'g').map((l) => [l.name, l.value]));
    expect(gauges).toMatchObject({ 'demo.task.wait_max': 100, 'demo.task.run_max': 999, 'demo.task.run_failed_max': 1000 });
    await clock.advance(2000);
    expect(take().filter((l) => l.name.startsWith('demo.task.'))).toEqual([]);
  });

  it('puts pool and worker in tags when tags are on', async () => {
    const { clock, reporter, take } = setup({ tags: true });
    reporter.start();
    reporter.recordTask(1, 2, true);
    await clock.advance(2000);
    const lines = take();
    const names = new Set(lines.map((l) => `${l.name} ${l.tags.join(',')}`));
    expect(names).toContain('queued pool:demo');
    expect(names).toContain('task.run pool:demo');
    expect(names).toContain('worker.os.cpu pool:demo,worker:0');
    expect(names).toContain('worker.in_flight pool:demo,worker:1');
  });

  it('reports the sources added to it under the pool scope (e.g. a queue consumer), until removed', async () => {
    const { clock, reporter, take, byName } = setup();
    reporter.start();
    const remove = reporter.addSource(() => ({ gauges: { 'bullmq.jobs.jobs.active': 3 }, counters: { 'bullmq.jobs.jobs.completed': 7 } }));
    await clock.advance(2000);
    expect(byName(take())).toMatchObject({ 'demo.bullmq.jobs.jobs.active': '3|g', 'demo.bullmq.jobs.jobs.completed': '7|c' });
    remove();
    await clock.advance(2000);
    expect(Object.keys(byName(take())).some((name) => name.includes('bullmq'))).toBe(false);
    reporter.stop();
  });

  it('every line follows the statsd line protocol', async () => {
    const { clock, client, reporter } = setup();
    reporter.start();
    reporter.recordTask(0.0000001, 12.3456789, true);
    await clock.advance(2000);
    for (const line of client.mockBuffer as string[]) expect(line).toMatch(LINE_PATTERN);
  });

  it('never throws: stats() or the probe failing is reported once and the rest is still sent', async () => {
    const { clock, pool, probe, reporter, take, onError } = setup();
    vi.spyOn(pool, 'stats').mockImplementation(() => {
      throw new Error('stats broke');
    });
    probe.sample.mockRejectedValue(new Error('probe broke'));
    reporter.start();
    reporter.countTimeout();
    await clock.advance(4000);
    expect(onError).toHaveBeenCalledOnce();
    expect(take().filter((l) => l.name === 'demo.timeouts').map((l) => l.value)).toEqual([1, 0]);
  });

  it('a source that throws costs only its own figures: the counters taken for that report are still sent', async () => {
    const { clock, pool, reporter, take, byName, onError } = setup();
    reporter.start();
    reporter.addSource(() => {
      throw new Error('source broke');
    });
    reporter.addSource(() => ({ gauges: { mine: 2 } }));
    pool.emit('workerExit', { worker: 0, pid: 100, exitCode: 3, signal: null, expected: false });
    await clock.advance(2000);
    expect(byName(take())).toMatchObject({ 'demo.crashes': '1|c', 'demo.mine': '2|g', 'demo.queued': '0|g', 'demo.worker.0.os.rss': '80000000|g' });
    expect(onError).toHaveBeenCalledOnce();
    reporter.stop();
  });

  it('stop() removes its listeners and its timer; start() again resumes', async () => {
    const { clock, pool, reporter } = setup();
    reporter.start();
    expect(pool.listenerCount('workerExit')).toBe(1);
    reporter.start();
    expect(pool.listenerCount('workerExit')).toBe(1);
    reporter.stop();
    expect(pool.listenerCount('workerExit')).toBe(0);
    expect(pool.listenerCount('workerStart')).toBe(0);
    expect(clock.pending).toBe(0);
    reporter.start();
    expect(clock.pending).toBe(1);
    reporter.stop();
  });

  it('rejects a bad interval or reservoir size', () => {
    const client = new StatsD({ mock: true });
    const pool = new FakePool() as unknown as PoolSource;
    expect(() => new PoolReporter(client, pool, { interval: -1 })).toThrow('Expected `interval` to be an integer from 1 to 2147483647 (ms), got `-1` (number)');
    expect(() => new PoolReporter(client, pool, { interval: 2 ** 31 })).toThrow(TypeError); // a timer would fire it every ms
    expect(() => new PoolReporter(client, pool, { reservoirSize: 0 })).toThrow(TypeError);
  });

  it('checks its options as every options object of the API is checked (before: each was taken, and showed only as missing metrics)', () => {
    const client = new StatsD({ mock: true });
    const pool = new FakePool() as unknown as PoolSource;
    const make = (options: unknown) => () => new PoolReporter(client, pool, options as never);
    expect(make({ interval: null })).toThrow('Expected `interval` not to be null (leave it out for its default)');
    expect(make({ nmae: 'x' })).toThrow('Unknown option `nmae`');
    expect(make([])).toThrow('Expected the options to be an object, got an array');
    expect(make(null)).toThrow('Expected the options to be an object, got `null`');
    expect(make({ name: 5 })).toThrow('Expected `name` to be 1-64 characters of [A-Za-z0-9_.-], got `5` (number)');
    expect(make({ name: 'bad name!' })).toThrow(TypeError);
    expect(make({ tags: 'yes' })).toThrow('Expected `tags` to be a boolean, got `"yes"` (string)');
    expect(make({ onError: 'log' })).toThrow('Expected `onError` to be a function');
    expect(make({ name: 'images.v2', tags: true, onError: () => {} })).not.toThrow();
  });

  // Before: the getter's own error surfaced, naming no option; and each option was read twice or
  // more (the null check, the check, its use): a name checked as 'images' was used as 'bad name!'.
  it('reads each option once: a getter that throws is a TypeError naming the option, with what it threw as cause', async () => {
    const client = new StatsD({ mock: true });
    const pool = new FakePool() as unknown as PoolSource;
    const cause = new Error('config not loaded');
    expectUnreadable(await failureOf(() => new PoolReporter(client, pool, throwingGetter({}, 'reservoirSize', cause))), 'reservoirSize', cause);
    const name = changingGetter({ clock: new FakeClock(), probe: { warmUp: async () => {}, prime: async () => {}, forget: () => {}, sample: async () => new Map() } }, 'name', ['images', 'bad name!']);
    const reporter = new PoolReporter(client, pool, name.options);
    await reporter.report();
    expect(name.reads()).toBe(1);
    expect(parseAll(client.mockBuffer as string[]).map((l) => l.name)).toContain('images.queued');
  });

  it('a real Pool is a PoolSource', () => {
    expectTypeOf<Pool<string, number>>().toMatchTypeOf<PoolSource>();
  });
});
