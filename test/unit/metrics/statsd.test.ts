import StatsD from 'hot-shots';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Pool } from 'looppool';
import { createStatsd, isStatsdClient, resolveStatsdOptions, type ResolvedStatsdOptions } from '../../../src/metrics/statsd.ts';
import { reportOnce } from '../../../src/metrics/report-once.ts';
import { startPoolMetrics } from '../../../src/metrics/pool-metrics.ts';
import { changingGetter, expectUnreadable, failureOf, throwingGetter } from '../../helpers/getters.ts';

const savedEnv = { ...process.env };
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
});

describe('resolveStatsdOptions', () => {
  it('fills in UDP to 127.0.0.1:8125, prefix looppool, no tags, 1432-byte packets', () => {
    expect(resolveStatsdOptions({})).toEqual({
      host: '127.0.0.1', port: 8125, prefix: 'looppool', globalTags: {}, protocol: 'udp', telegraf: false, datadog: false,
      tags: false, maxBufferSize: 1432, mock: false,
    });
  });

  it('turns tags on for Telegraf and DogStatsD unless told otherwise, and sanitises the prefix', () => {
    expect(resolveStatsdOptions({ telegraf: true }).tags).toBe(true);
    expect(resolveStatsdOptions({ datadog: true }).tags).toBe(true);
    expect(resolveStatsdOptions({ datadog: true, tags: false }).tags).toBe(false);
    expect(resolveStatsdOptions({ prefix: 'my app.x:y' }).prefix).toBe('my_app.x_y');
    expect(resolveStatsdOptions({ prefix: '' }).prefix).toBe('');
  });

  it('names the option and the value when one is wrong', () => {
    expect(() => resolveStatsdOptions({ port: 0 })).toThrow('Expected `statsd.port` to be an integer from 1 to 65535, got `0` (number)');
    expect(() => resolveStatsdOptions({ host: '' })).toThrow('Expected `statsd.host` to be a non-empty string, got `""` (string)');
    expect(() => resolveStatsdOptions({ protocol: 'uds' as 'udp' })).toThrow("Expected `statsd.protocol` to be 'udp' or 'tcp', got `\"uds\"` (string)");
    expect(() => resolveStatsdOptions({ globalTags: { a: 1 } as unknown as Record<string, string> })).toThrow(/globalTags/);
    expect(() => resolveStatsdOptions({ telegraf: 'yes' as unknown as boolean })).toThrow('Expected `statsd.telegraf` to be a boolean, got `"yes"` (string)');
    expect(() => resolveStatsdOptions(null as unknown as object)).toThrow(TypeError);
  });

  // Before: the getter's own error surfaced, naming no option; and each option was read twice
  // (the null check, then its use), so a port checked as 8125 was used as 'x' and refused.
  it('reads each option once: a getter that throws is a TypeError naming `statsd.<key>`, with what it threw as cause', async () => {
    const cause = new Error('config not loaded');
    expectUnreadable(await failureOf(() => resolveStatsdOptions(throwingGetter({}, 'port', cause))), 'statsd.port', cause);
    expectUnreadable(await failureOf(() => createStatsd(throwingGetter({ mock: true }, 'host', cause))), 'statsd.host', cause);
    expectUnreadable(await failureOf(() => new Pool({ worker: 'w.mjs', statsd: throwingGetter({}, 'prefix', cause) })), 'statsd.prefix', cause);
    // A Proxy as the tags, whose traps throw: before, the trap's error surfaced.
    expectUnreadable(await failureOf(() => resolveStatsdOptions({ globalTags: new Proxy({}, { ownKeys: () => { throw cause; } }) })), 'statsd.globalTags', cause);
    const port = changingGetter({}, 'port', [9125, 'x']);
    expect(resolveStatsdOptions(port.options).port).toBe(9125);
    expect(port.reads()).toBe(1);
    const telegraf = changingGetter({ mock: true }, 'telegraf', [true, 'x']);
    expect(createStatsd(telegraf.options, { tags: false }).config).toMatchObject({ telegraf: true, tags: false });
    expect(telegraf.reads()).toBe(1);
  });
});

describe('statsd.maxBufferSize', () => {
  it('over UDP, refuses more than one datagram carries (every batch would be lost with EMSGSIZE); over TCP, no bound', () => {
    expect(resolveStatsdOptions({ maxBufferSize: 65_507 }).maxBufferSize).toBe(65_507);
    expect(() => resolveStatsdOptions({ maxBufferSize: 65_508 })).toThrow(TypeError);
    expect(() => resolveStatsdOptions({ maxBufferSize: 1_000_000 })).toThrow('Expected `statsd.maxBufferSize` to be at most 65507 over UDP (the most one datagram carries), got `1000000` (number)');
    expect(() => resolveStatsdOptions({ protocol: 'udp', maxBufferSize: 1_000_000 })).toThrow(TypeError);
    expect(resolveStatsdOptions({ protocol: 'tcp', maxBufferSize: 1_000_000 }).maxBufferSize).toBe(1_000_000);
    expect(() => new Pool({ worker: 'w.mjs', statsd: { maxBufferSize: 1_000_000 } })).toThrow(/statsd.maxBufferSize/);
  });

  it('a UDP client of yours with a bigger buffer gives the workers one datagram (they rebuild it with the checks above)', () => {
    const config = createStatsd(new StatsD({ mock: true, maxBufferSize: 1_000_000 })).config;
    expect(config?.maxBufferSize).toBe(65_507);
    expect(() => resolveStatsdOptions(config as ResolvedStatsdOptions)).not.toThrow();
    expect(createStatsd(new StatsD({ mock: true, protocol: 'tcp', maxBufferSize: 1_000_000 })).config?.maxBufferSize).toBe(1_000_000);
  });
});

describe('createStatsd', () => {
  it('makes a client whose wire format ignores DD_* variables unless datadog is asked for', () => {
    process.env.DD_ENV = 'prod';
    process.env.DD_SERVICE = 'svc';
    process.env.DD_AGENT_HOST = '10.1.2.3';
    const handle = createStatsd({ mock: true, globalTags: { team: 'a' } });
    handle.client.gauge('x', 1);
    expect(handle.client.mockBuffer).toEqual(['looppool.x:1|g|#team:a']);
    expect((handle.client as unknown as { host: string }).host).toBe('127.0.0.1');
    const dd = createStatsd({ mock: true, datadog: true });
    dd.client.gauge('x', 1);
    expect(dd.client.mockBuffer?.[0]).toContain('env:prod');
  });

  it('uses a client you pass in as it is, and only flushes it on close', async () => {
    const client = new StatsD({ mock: true, prefix: 'mine', telegraf: true, globalTags: ['env:test'] });
    const close = vi.spyOn(client, 'close');
    const handle = createStatsd(client);
    expect(handle.client).toBe(client);
    expect(handle.tags).toBe(true);
    expect(handle.config).toMatchObject({ prefix: 'mine', telegraf: true, globalTags: ['env:test'], tags: true, protocol: 'udp', mock: true });
    await handle.close();
    expect(close).not.toHaveBeenCalled();
    expect(createStatsd(new StatsD({ mock: true }), { tags: true }).tags).toBe(true);
  });

  it('has no worker config for a client the workers cannot rebuild', () => {
    const client = new StatsD({ mock: true });
    (client as unknown as { protocol: string }).protocol = 'uds';
    expect(createStatsd(client).config).toBeUndefined();
  });

  it('its config is JSON and rebuilds an equivalent client in another process', () => {
    const handle = createStatsd({ mock: true, prefix: 'p', globalTags: ['a:b'], telegraf: true });
    const copy = createStatsd(JSON.parse(JSON.stringify(handle.config)));
    copy.client.gauge('g', 2, { pool: 'x' });
    expect(copy.client.mockBuffer).toEqual(['p.g,a=b,pool=x:2|g']);
  });

  it('closes the client it made, once', async () => {
    const handle = createStatsd({ mock: true });
    const close = vi.spyOn(handle.client, 'close');
    await Promise.all([handle.close(), handle.close()]);
    expect(close).toHaveBeenCalledOnce();
  });

  it('close gives up after the timeout when the client never calls back', async () => {
    const handle = createStatsd({ mock: true });
    vi.spyOn(handle.client, 'close').mockImplementation(() => {});
    await handle.close(20); // resolves: the test would time out otherwise
  });

  it('writes tags in Telegraf syntax for a Telegraf client', () => {
    const handle = createStatsd({ mock: true, telegraf: true });
    handle.client.gauge('worker.cpu', 5, { pool: 'demo', worker: '1' });
    expect(handle.client.mockBuffer).toEqual(['looppool.worker.cpu,pool=demo,worker=1:5|g']);
  });

  it('checks its second argument, and startPoolMetrics its options, as every options object of the API is checked', () => {
    // Before: a typo (`onEror`) or a null was taken and did nothing; a null argument failed with "Cannot read properties of null".
    const mock = { mock: true } as const;
    expect(() => createStatsd(mock, { onEror() {} } as never)).toThrow('Unknown option `onEror`');
    expect(() => createStatsd(mock, { onError: null } as never)).toThrow('Expected `onError` not to be null');
    expect(() => createStatsd(mock, null as never)).toThrow('Expected the options to be an object, got `null`');
    expect(() => createStatsd(mock, { tags: 'yes' } as never)).toThrow('Expected `tags` to be a boolean');
    const source = { stats: () => ({ queued: 0, inFlight: 0, done: 0, failed: 0, restarts: 0, handedBack: 0, workers: [] }), on() {}, off() {} };
    expect(() => startPoolMetrics(source, mock, { nmae: 'x' } as never)).toThrow('Unknown option `nmae`');
    expect(() => startPoolMetrics(source, mock, { name: 'bad name!' })).toThrow('Expected `name` to be 1-64 characters of [A-Za-z0-9_.-], got `"bad name!"` (string)');
    expect(() => startPoolMetrics(source, mock, { onError: 'log' } as never)).toThrow('Expected `onError` to be a function');
    expect(() => startPoolMetrics(source, mock, { tags: true } as never)).toThrow('Unknown option `tags`'); // the statsd settings' tags decide
  });

  it('reads its second argument, and startPoolMetrics its options, once each: a getter that throws is a TypeError naming the option', async () => {
    const cause = new Error('config not loaded');
    const mock = { mock: true } as const;
    expectUnreadable(await failureOf(() => createStatsd(mock, throwingGetter({}, 'tags', cause))), 'tags', cause);
    const tags = changingGetter({}, 'tags', [true, 'x']);
    expect(createStatsd(mock, tags.options).tags).toBe(true);
    expect(tags.reads()).toBe(1);
    const source = { stats: () => ({ queued: 0, inFlight: 0, done: 0, failed: 0, restarts: 0, handedBack: 0, workers: [] }), on() {}, off() {} };
    expectUnreadable(await failureOf(() => startPoolMetrics(source, mock, throwingGetter({}, 'interval', cause))), 'interval', cause);
    const name = changingGetter({}, 'name', ['images', 'bad name!']);
    const metrics = startPoolMetrics(source, mock, name.options);
    await metrics.close();
    expect(name.reads()).toBe(1);
    expect(metrics.workerConfig?.pool).toBe('images');
  });

  it('recognises hot-shots clients', () => {
    expect(isStatsdClient(new StatsD({ mock: true }))).toBe(true);
    expect(isStatsdClient({ host: 'x' })).toBe(false);
    expect(isStatsdClient(null)).toBe(false);
  });
});

describe('reportOnce', () => {
  it('forwards the first error only, counts all, and survives a throwing sink', () => {
    const sink = vi.fn(() => {
      throw new Error('sink broke');
    });
    const report = reportOnce(sink);
    report(new Error('a'));
    report('b');
    report(new Error('c'));
    expect(sink).toHaveBeenCalledOnce();
    expect(report.count).toBe(3);
  });
});
