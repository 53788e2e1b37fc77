import StatsD from 'hot-shots';
import { describe, expect, it, vi } from 'vitest';
import { ResourceReporter, type MetricSource } from '../../../src/metrics/resource-reporter.ts';
import type { ProcessSample } from '../../../src/metrics/samplers.ts';
import { TaskCounters } from '../../../src/metrics/task-counters.ts';
import { FakeClock, LINE_PATTERN, parseAll } from './helpers.ts';
import { changingGetter, expectUnreadable, failureOf, throwingGetter } from '../../helpers/getters.ts';

function sample(overrides: Partial<ProcessSample> = {}): ProcessSample {
  return {
    cpu: 42.5,
    rss: 50_000_000,
    heapUsed: 10_000_000,
    heapTotal: 20_000_000,
    external: 3_000_000,
    loopDelay: { mean: 1.25, p99: 7, max: 12.5 },
    loopUtilization: 33.3333,
    resources: new Map([['Timeout', 2], ['TCPSocketWrap', 1]]),
    ...overrides,
  };
}

function setup(samples: ProcessSample[] = [sample()], options: { tags?: Record<string, string> } = {}) {
  const clock = new FakeClock();
  const client = new StatsD({ mock: true });
  const flush = vi.spyOn(client, 'flush');
  const sampler = { start: vi.fn(), stop: vi.fn(), sample: vi.fn(() => samples.shift() ?? sample()) };
  const onError = vi.fn();
  const reporter = new ResourceReporter(client, 'demo.worker.3', { interval: 1000, clock, sampler, onError, ...options });
  const lines = () => parseAll(client.mockBuffer as string[]);
  const take = () => {
    const out = lines();
    (client.mockBuffer as string[]).length = 0;
    return out;
  };
  return { clock, client, flush, sampler, onError, reporter, lines, take };
}

describe('ResourceReporter', () => {
  it('sends one batch per interval: CPU, memory, loop delay, utilisation and backlog by type', async () => {
    const { clock, reporter, take, flush, sampler } = setup();
    reporter.start();
    expect(sampler.start).toHaveBeenCalledOnce();
    await clock.advance(999);
    expect(take()).toEqual([]);
    await clock.advance(1);
    const byName = Object.fromEntries(take().map((l) => [l.name, [l.value, l.type]]));
    expect(byName).toEqual({
      'demo.worker.3.cpu': [42.5, 'g'],
      'demo.worker.3.rss': [50_000_000, 'g'],
      'demo.worker.3.heap_used': [10_000_000, 'g'],
      'demo.worker.3.heap_total': [20_000_000, 'g'],
      'demo.worker.3.external': [3_000_000, 'g'],
      'demo.worker.3.loop.delay_mean': [1.25, 'g'],
      'demo.worker.3.loop.delay_p99': [7, 'g'],
      'demo.worker.3.loop.delay_max': [12.5, 'g'],
      'demo.worker.3.loop.utilization': [33.333, 'g'],
      'demo.worker.3.loop.resources.timeout': [2, 'g'],
      'demo.worker.3.loop.resources.tcpsocketwrap': [1, 'g'],
      'demo.worker.3.loop.resources.total': [3, 'g'],
    });
    expect(flush).toHaveBeenCalledOnce();
    await clock.advance(3000);
    expect(flush).toHaveBeenCalledTimes(4);
    reporter.stop();
    expect(sampler.stop).toHaveBeenCalledOnce();
    expect(clock.pending).toBe(0);
  });

  it('every line it sends follows the statsd line protocol', async () => {
    const { clock, reporter, client } = setup([sample({ cpu: 1e-9, resources: new Map([['Weird:Type|x', 1]]) })]);
    reporter.start();
    await clock.advance(1000);
    const raw = client.mockBuffer as string[];
    expect(raw.length).toBeGreaterThan(0);
    for (const line of raw) expect(line).toMatch(LINE_PATTERN);
  });

  it('sends 0 for a resource type that is gone, since statsd keeps a gauge at its last value', async () => {
    const { clock, reporter, take } = setup([sample(), sample({ resources: new Map([['Timeout', 1]]) })]);
    reporter.start();
    await clock.advance(1000);
    take();
    await clock.advance(1000);
    const values = Object.fromEntries(take().filter((l) => l.name.includes('.resources.')).map((l) => [l.name, l.value]));
    expect(values).toEqual({
      'demo.worker.3.loop.resources.timeout': 1,
      'demo.worker.3.loop.resources.tcpsocketwrap': 0,
      'demo.worker.3.loop.resources.total': 1,
    });
  });

  it('leaves out loop delay when the histogram recorded nothing', async () => {
    const { clock, reporter, take } = setup([sample({ loopDelay: undefined })]);
    reporter.start();
    await clock.advance(1000);
    expect(take().some((l) => l.name.includes('delay'))).toBe(false);
  });

  it('adds the gauges and counters of its sources: a worker adds its tasks', async () => {
    const { clock, reporter, take } = setup();
    const tasks = new TaskCounters();
    reporter.addSource(tasks.source);
    const remove = reporter.addSource(() => ({ gauges: { 'queue.depth': 7 } }));
    reporter.start();
    tasks.started();
    tasks.started();
    tasks.started();
    tasks.settled(true);
    tasks.settled(false);
    await clock.advance(1000);
    const first = take().filter((l) => !/cpu|rss|heap|external|loop/.test(l.name));
    expect(first.map((l) => `${l.name}:${l.value}|${l.type}`).sort()).toEqual([
      'demo.worker.3.queue.depth:7|g',
      'demo.worker.3.tasks.done:1|c',
      'demo.worker.3.tasks.failed:1|c',
      'demo.worker.3.tasks.in_flight:1|g',
    ]);
    remove();
    tasks.settled(true);
    await clock.advance(1000);
    const second = take().filter((l) => l.name.includes('tasks.') || l.name.includes('queue'));
    expect(second.map((l) => `${l.name}:${l.value}|${l.type}`).sort()).toEqual([
      'demo.worker.3.tasks.done:1|c',
      'demo.worker.3.tasks.failed:0|c',
      'demo.worker.3.tasks.in_flight:0|g',
    ]);
  });

  it('adds its tags to every metric (DogStatsD syntax)', async () => {
    const { clock, reporter, take } = setup([sample()], { tags: { pool: 'demo', worker: '3' } });
    reporter.start();
    await clock.advance(1000);
    const lines = take();
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) expect(line.tags).toEqual(['pool:demo', 'worker:3']);
  });

  it('never throws: a failing sampler, and each failing source, is reported once and the rest is still sent', async () => {
    const { clock, reporter, take, sampler, onError } = setup();
    sampler.sample.mockImplementation(() => {
      throw new Error('sampler broke');
    });
    reporter.addSource(() => {
      throw new Error('source broke');
    });
    reporter.addSource(() => ({ counters: { ok: 1 } }));
    reporter.start();
    await clock.advance(3000);
    expect(onError.mock.calls.map((c) => (c[0] as Error).message).sort()).toEqual(['sampler broke', 'source broke']);
    expect(take().map((l) => l.name)).toEqual(['demo.worker.3.ok', 'demo.worker.3.ok', 'demo.worker.3.ok']);
  });

  it('a source that returns a promise (an async function) is reported once as not synchronous, and its rejection is not left unhandled', async () => {
    const { reporter, take, onError } = setup();
    const unhandled: unknown[] = [];
    const listener = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      reporter.addSource((async () => {
        throw new Error('async source broke');
      }) as unknown as MetricSource);
      reporter.addSource(() => ({ gauges: { sync: 1 } }));
      reporter.report();
      reporter.report();
      await new Promise((resolve) => setImmediate(resolve)); // Node reports an unhandled rejection before this
      expect(onError).toHaveBeenCalledOnce();
      expect((onError.mock.calls[0]?.[0] as Error).message).toMatch(/got a promise: sources are called synchronously/);
      expect(take().filter((l) => l.name === 'demo.worker.3.sync')).toHaveLength(2);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });

  it('never throws when the client does', async () => {
    const { clock, reporter, client, onError } = setup();
    vi.spyOn(client, 'gauge').mockImplementation(() => {
      throw new Error('client broke');
    });
    reporter.start();
    await clock.advance(2000);
    expect(onError).toHaveBeenCalledOnce();
    expect(reporter.isRunning).toBe(true);
  });

  it('report() sends at once, and start() twice does not start two timers', async () => {
    const { clock, reporter, flush } = setup();
    reporter.start();
    reporter.start();
    expect(clock.pending).toBe(1);
    reporter.report();
    expect(flush).toHaveBeenCalledOnce();
  });

  it('rejects an interval that is not an integer from 1 to 2^31 - 1 ms', () => {
    const client = new StatsD({ mock: true });
    expect(() => new ResourceReporter(client, 'x', { interval: 0 })).toThrow('Expected `interval` to be an integer from 1 to 2147483647 (ms), got `0` (number)');
    expect(() => new ResourceReporter(client, 'x', { interval: 1.5 })).toThrow(TypeError);
    expect(() => new ResourceReporter(client, 'x', { interval: Infinity })).toThrow(TypeError); // a timer would fire it every ms
    expect(() => new ResourceReporter(client, 'x', [] as never)).toThrow('Expected the options to be an object, got an array');
    expect(() => new ResourceReporter(client, 'x', { interval: null } as never)).toThrow('Expected `interval` not to be null');
  });

  it('rejects what would only show as missing or garbled metrics: no client, no prefix, tags not an object, an unknown option', () => {
    // Before: each was accepted, then sent nothing (one line on stderr), `undefined.g`, or tags such as `#0:e,1:n`.
    const client = new StatsD({ mock: true });
    const make = (...args: unknown[]) => () => new (ResourceReporter as unknown as new (...a: unknown[]) => ResourceReporter)(...args);
    expect(make(undefined, 'x')).toThrow(/Expected a statsd client \(a hot-shots StatsD, or createStatsd\(\)'s client: gauge, increment, timing and flush\), got `undefined`/);
    expect(make({}, 'x')).toThrow(TypeError);
    expect(make('127.0.0.1', 'x')).toThrow(TypeError);
    expect(make(client, undefined)).toThrow(/Expected the prefix to be a string \(it may be ''\)/);
    expect(make(client, 'x', { tags: ['env:prod'] })).toThrow(/Expected `tags` to be an object of names and values/);
    expect(make(client, 'x', { tags: 'env' })).toThrow(TypeError);
    expect(make(client, 'x', { intervall: 5000 })).toThrow('Unknown option `intervall`');
    expect(make(client, 'x', null)).toThrow(/Expected the options to be an object/);
    expect(make(client, 'x', { onError: 'log' })).toThrow(/Expected `onError` to be a function/);
    expect(make(client, '', { tags: { env: 'prod' } })).not.toThrow();
  });

  // Before: the getter's own error surfaced, naming no option; and each option was read twice
  // (the null check, then its use): an interval checked as 1000 was used as 'x' and refused.
  it('reads each option once: a getter that throws is a TypeError naming the option, with what it threw as cause', async () => {
    const client = new StatsD({ mock: true });
    const cause = new Error('config not loaded');
    expectUnreadable(await failureOf(() => new ResourceReporter(client, 'x', throwingGetter({}, 'tags', cause))), 'tags', cause);
    const clock = new FakeClock();
    const sampler = { start: vi.fn(), stop: vi.fn(), sample: vi.fn(() => sample()) };
    const interval = changingGetter({ clock, sampler }, 'interval', [1000, 'x']);
    const reporter = new ResourceReporter(client, 'x', interval.options);
    reporter.start();
    await clock.advance(1000);
    reporter.stop();
    expect(sampler.sample).toHaveBeenCalledOnce();
    expect(interval.reads()).toBe(1);
  });

  it('uses the real samplers by default and sanitises its prefix', () => {
    const client = new StatsD({ mock: true });
    const reporter = new ResourceReporter(client, 'my app..p:1', { interval: 60_000 });
    reporter.start();
    reporter.report();
    reporter.stop();
    const names = parseAll(client.mockBuffer as string[]).map((l) => l.name);
    expect(names).toContain('my_app.p_1.cpu');
    expect(names).toContain('my_app.p_1.loop.utilization');
    expect(names).toContain('my_app.p_1.loop.resources.total');
  });
});
