/**
 * The pure parts of the Sentry helpers (no SDK, no process): settings resolution, the
 * scrubber, and the blocked-loop event. Unit tests; kept here because this directory is where
 * the Sentry tests live (move to test/unit/sentry/ if that directory is created).
 */
import type { ErrorEvent } from '@sentry/node';
import { describe, expect, it } from 'vitest';
import { blockedLoopContext, blockedLoopEvent, toSentryFrame } from '../../../src/sentry/blocked-loop-event.ts';
import { checkSentryOptions, isSentryDsn, resolveSentryConfig } from '../../../src/sentry/config.ts';
import { changingGetter, expectUnreadable, failureOf, throwingGetter } from '../../helpers/getters.ts';
import { scrubEvent } from '../../../src/sentry/scrub.ts';

describe('resolveSentryConfig', () => {
  const dsn = 'https://abc123@o1.ingest.sentry.io/4242';

  it('is off without a DSN', () => {
    expect(resolveSentryConfig(undefined, {})).toBeUndefined();
    expect(resolveSentryConfig({ environment: 'prod' }, { SENTRY_DSN: '' })).toBeUndefined();
  });

  it('prefers the options, then falls back to the SENTRY_* variables', () => {
    const env = { SENTRY_DSN: 'http://envkey@127.0.0.1:9000/7', SENTRY_ENVIRONMENT: 'staging', SENTRY_RELEASE: 'r1' };
    expect(resolveSentryConfig({ dsn, release: 'r2' }, env)).toEqual({ dsn, environment: 'staging', release: 'r2' });
    expect(resolveSentryConfig(undefined, env)).toEqual({ dsn: env.SENTRY_DSN, environment: 'staging', release: 'r1' });
  });

  // Before: the getter's own error surfaced, naming no option; and each option was read three
  // times (the null check, the type check, its use): a release checked as a string was used as 7.
  it('reads the `sentry` option once each: a getter that throws is a TypeError naming `sentry.<key>`, with what it threw as cause', async () => {
    const cause = new Error('secrets not loaded');
    expectUnreadable(await failureOf(() => checkSentryOptions(throwingGetter({}, 'dsn', cause))), 'sentry.dsn', cause);
    const release = changingGetter({ dsn }, 'release', ['r1', 7]);
    expect(resolveSentryConfig(checkSentryOptions(release.options), {})).toEqual({ dsn, release: 'r1' });
    expect(release.reads()).toBe(1);
  });

  it('refuses a malformed DSN without quoting it', () => {
    const bad = 'https://secret-with-dash@host/1';
    expect(() => resolveSentryConfig({ dsn: bad }, {})).toThrow(TypeError);
    expect(() => resolveSentryConfig({ dsn: bad }, {})).toThrow(/`sentry\.dsn`.*31 characters/);
    expect(() => resolveSentryConfig(undefined, { SENTRY_DSN: bad })).toThrow(/SENTRY_DSN/);
    try {
      resolveSentryConfig({ dsn: bad }, {});
    } catch (err) {
      expect(String(err)).not.toContain('secret');
    }
  });

  it.each([
    ['https://abc@o1.ingest.sentry.io/42', true],
    ['http://publickey@127.0.0.1:8080/42', true],
    ['https://key:secret@sentry.example.com/some/path/42', true],
    ['https://abc@[::1]:9000/42', true],
    ['ftp://abc@host/42', false],
    ['https://host/42', false],
    ['https://a-b@host/42', false],
    ['https://abc@host/project', false],
    ['https://abc@host:port/42', false],
    ['', false],
  ])('isSentryDsn(%j) is %s', (value, expected) => {
    expect(isSentryDsn(value)).toBe(expected);
  });
});

describe('scrubEvent', () => {
  it('drops frame variables, the serialized thrown value, breadcrumbs and request bodies', () => {
    const event = {
      type: undefined,
      exception: { values: [{ stacktrace: { frames: [{ function: 'f', vars: { task: { secret: 1 } } }] } }] },
      threads: { values: [{ stacktrace: { frames: [{ function: 'g', vars: { x: 1 } }] } }] },
      extra: { __serialized__: { secret: 1 }, kept: true },
      request: { url: '/x', data: 'body', cookies: { a: 'b' } },
      breadcrumbs: [{ category: 'console', message: '{"secret":1}' }],
    } as unknown as ErrorEvent;
    expect(scrubEvent(event)).toEqual({
      type: undefined,
      exception: { values: [{ stacktrace: { frames: [{ function: 'f' }] } }] },
      threads: { values: [{ stacktrace: { frames: [{ function: 'g' }] } }] },
      extra: { kept: true },
      request: { url: '/x' },
    });
  });
});

describe('blockedLoopEvent', () => {
  const frames = [
    { functionName: 'spin', url: 'file:///srv/app/worker.ts', line: 3, column: 5 },
    { functionName: '', url: 'file:///srv/app/node_modules/lib/index.js', line: 10, column: 1 },
    { functionName: 'processTicksAndRejections', url: 'node:internal/process/task_queues', line: 95, column: 5 },
  ];

  it('turns the blocking stack into the stack trace, outermost first', () => {
    const event = blockedLoopEvent({ kind: 'loopBlocked', blockedMs: 812, frames });
    expect(event.level).toBe('warning');
    expect(blockedLoopContext({ kind: 'loopBlocked', blockedMs: 812, frames })).toEqual({ blockedMs: 812 });
    expect(event.exception?.values?.[0]).toEqual({
      type: 'LoopBlocked',
      value: 'The event loop was blocked for 812 ms',
      mechanism: { type: 'looppool.watchdog', handled: true, synthetic: true },
      stacktrace: { frames: [...frames].reverse().map(toSentryFrame) },
    });
  });

  it('marks Node internals and dependencies as not in the app', () => {
    expect(frames.map(toSentryFrame)).toEqual([
      { function: 'spin', filename: '/srv/app/worker.ts', abs_path: '/srv/app/worker.ts', lineno: 3, colno: 5, in_app: true },
      { function: '<anonymous>', filename: '/srv/app/node_modules/lib/index.js', abs_path: '/srv/app/node_modules/lib/index.js', lineno: 10, colno: 1, in_app: false },
      { function: 'processTicksAndRejections', filename: 'node:internal/process/task_queues', abs_path: 'node:internal/process/task_queues', lineno: 95, colno: 5, in_app: false },
    ]);
  });

  it('says why there is no stack', () => {
    const report = { kind: 'loopBlocked', blockedMs: 400, frames: [], stackUnavailable: 'captureTimeout' } as const;
    const event = blockedLoopEvent(report);
    expect(event.exception?.values?.[0]?.value).toBe('The event loop was blocked for 400 ms (no stack: captureTimeout)');
    expect(event.exception?.values?.[0]?.stacktrace).toBeUndefined();
    expect(blockedLoopContext(report)).toEqual({ blockedMs: 400, stackUnavailable: 'captureTimeout' });
  });
});
