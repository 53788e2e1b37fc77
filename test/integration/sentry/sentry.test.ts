/**
 * looppool's Sentry helpers with the real @sentry/node SDK, in real processes running them from
 * src/ (fixtures/from-src.mjs: the package has them only in its bundles), against a local ingest
 * endpoint: what arrives, with which tags and stack, that flushing before exit delivers, that a
 * hanging ingest cannot hold a process, and that payloads and the DSN stay private.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSentryEndpoint, type SentryEndpoint } from '../../helpers/sentry-endpoint.ts';
import { killChildren, lineOf, runFixture, waitForStdout } from '../watchdog/run-child.ts';

let endpoint: SentryEndpoint | undefined;

afterEach(async () => {
  await killChildren();
  await endpoint?.close();
  endpoint = undefined;
});

/** Run a Sentry fixture with SENTRY_DSN pointing at a fresh local endpoint. */
async function runWithEndpoint(script: string, args: string[] = [], options: { hang?: boolean } = {}) {
  endpoint = await startSentryEndpoint(options);
  const run = runFixture(`sentry/${script}`, args, { env: { ...process.env, SENTRY_DSN: endpoint.dsn } });
  return { run, endpoint };
}

describe('Sentry in a worker process', () => {
  it('sends a task error with the pool, worker, pid and task id tags and the error stack, flushed just before exit', async () => {
    const { run, endpoint } = await runWithEndpoint('task-error-child.mjs');
    expect(await waitForStdout(run, /^enabled/)).toBe('enabled true flushed true');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    const [event, ...more] = await endpoint.waitForEvents(1);
    expect(more).toEqual([]);
    expect(event?.tags).toMatchObject({ pool: 'demo', worker: '1', pid: String(run.pid), taskId: '42', role: 'worker' });
    expect(event?.contexts?.looppool).toEqual({ pool: 'demo', worker: 1, pid: run.pid, taskId: 42, attempt: 1 });
    const exception = event?.exception?.values?.[0];
    expect(exception).toMatchObject({ type: 'RangeError', value: 'invoice total must be positive', mechanism: { type: 'looppool.task', handled: true } });
    const frames = exception.stacktrace.frames as { function?: string; filename?: string; lineno?: number }[];
    expect(frames.at(-1)).toMatchObject({
      function: 'parseInvoice',
      filename: expect.stringMatching(/fixtures\/sentry\/task-error-child\.mjs$/),
      lineno: lineOf('sentry/task-error-child.mjs', "throw new RangeError('invoice"),
    });
  });

  it('keeps task payloads and local variables out of what is sent', async () => {
    const { run, endpoint } = await runWithEndpoint('thrown-payload-child.mjs');
    expect(await waitForStdout(run, /^flushed/)).toBe('flushed true');
    const events = await endpoint.waitForEvents(2);
    const event = events.find((e) => e.tags?.taskId === '5');
    const nonError = events.find((e) => e.tags?.taskId === '6')?.exception?.values?.[0];
    expect(nonError).toMatchObject({ type: 'NonError', value: expect.stringContaining('(a string)') });
    expect(nonError.stacktrace).toBeUndefined(); // looppool's own frames would group every such throw as one issue
    expect(event?.tags).toMatchObject({ pool: 'demo', worker: '2', taskId: '5' });
    const frames = (event?.exception?.values?.[0]?.stacktrace?.frames ?? []) as Record<string, unknown>[];
    expect(frames.every((frame) => frame.vars === undefined)).toBe(true);
    expect(event?.extra?.__serialized__).toBeUndefined();
    expect(endpoint.envelopes.some((e) => e.raw.includes('payload-secret-4711'))).toBe(false);
  });

  it('sends an uncaught error from the runtime-owned handler, unhandled and fatal', async () => {
    const { run, endpoint } = await runWithEndpoint('uncaught-child.mjs');
    expect(await waitForStdout(run, /^flushed/)).toBe('flushed true');
    // The fixture's handler chose the exit code: Sentry did not take over process exit.
    expect(await run.exited).toEqual({ code: 1, signal: null });
    const [event] = await endpoint.waitForEvents(1);
    expect(event?.level).toBe('fatal');
    expect(event?.tags).toMatchObject({ pool: 'demo', worker: '0', pid: String(run.pid) });
    expect(event?.exception?.values?.[0]).toMatchObject({
      type: 'TypeError',
      value: 'escaped every task',
      mechanism: { type: 'looppool.uncaughtException', handled: false },
    });
  });

  it('returns from flush within its timeout when the ingest never answers', async () => {
    const { run, endpoint } = await runWithEndpoint('task-error-child.mjs', ['500'], { hang: true });
    expect(await waitForStdout(run, /^enabled/, 10_000)).toBe('enabled true flushed false');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(endpoint.requests()).toBeGreaterThanOrEqual(1); // the event was on its way; nobody answered
  });

  it('refuses a malformed DSN without printing it', async () => {
    endpoint = await startSentryEndpoint();
    const secret = 'http://not-a-key-secret7@127.0.0.1/project';
    const run = runFixture('sentry/bad-dsn-child.mjs', [], { env: { ...process.env, SENTRY_DSN: secret } });
    const line = await waitForStdout(run, /^(refused|accepted)/);
    await run.exited;
    expect(line).toMatch(/^refused TypeError: Expected SENTRY_DSN to be a Sentry DSN/);
    expect(`${run.stdout.join('\n')}${run.stderr()}`).not.toContain('secret7');
  });
});

describe('Sentry in the parent', () => {
  it('sends a blocked-loop report read from the watchdog pipe, with the blocked function as the stack', async () => {
    const { run, endpoint } = await runWithEndpoint('blocked-loop-parent.mjs');
    expect(await waitForStdout(run, /^flushed/)).toBe('flushed true');
    const [event] = await endpoint.waitForEvents(1);
    expect(event?.level).toBe('warning');
    expect(event?.tags).toMatchObject({ pool: 'demo', worker: '0', role: 'parent' });
    expect(event?.contexts?.tasks).toEqual({ inFlight: [7] });
    const exception = event?.exception?.values?.[0];
    expect(exception).toMatchObject({ type: 'LoopBlocked', mechanism: { type: 'looppool.watchdog' } });
    expect(exception.value).toMatch(/^The event loop was blocked for \d+ ms$/);
    const frames = exception.stacktrace.frames as { function?: string; filename?: string; in_app?: boolean }[];
    // Outermost first, as Sentry lists them: the innermost frames are the blocking ones.
    expect(frames.slice(-2).map((f) => f.function)).toEqual(['crunchNumbers', 'spin']);
    expect(frames.at(-1)).toMatchObject({ filename: expect.stringMatching(/fixtures\/watchdog\/busy-child\.mjs$/), in_app: true });
  });

  it('sends crashes and timeouts with their tags; a timeout of a blocked worker carries the blocking stack', async () => {
    const { run, endpoint } = await runWithEndpoint('parent-events.mjs');
    expect(await waitForStdout(run, /^flushed/)).toBe('flushed true');
    // Each event travels in its own request: find them by content, not by arrival order.
    const events = await endpoint.waitForEvents(3);
    const crash = events.find((e) => e.tags?.pid === '4242');
    const timeout = events.find((e) => e.tags?.taskId === '9');
    const blockedTimeout = events.find((e) => e.tags?.taskId === '10');
    expect(crash).toMatchObject({
      level: 'fatal',
      environment: 'test-env',
      release: 'demo@1.2.3',
      tags: { pool: 'demo', worker: '1', pid: '4242', role: 'parent' },
      fingerprint: ['looppool', 'workerCrashed', 'demo', 'SIGKILL'],
      contexts: { exit: { exitCode: null, signal: 'SIGKILL' } },
    });
    expect(crash?.exception?.values?.[0]).toMatchObject({ type: 'WorkerCrashedError', mechanism: { type: 'looppool.crash' } });
    expect(timeout).toMatchObject({ tags: { pool: 'demo', worker: '0', pid: '4343', taskId: '9' }, contexts: { timeout: { timeoutMs: 100 } } });
    expect(timeout?.exception?.values?.[0]).toMatchObject({ type: 'TaskTimeoutError', value: 'Task 9 timed out after 100 ms' });
    expect(blockedTimeout?.tags).toMatchObject({ taskId: '10' });
    const exception = blockedTimeout?.exception?.values?.[0];
    expect(exception).toMatchObject({ type: 'TaskTimeoutError', value: 'Task 10 timed out after 100 ms', mechanism: { type: 'looppool.timeout' } });
    expect(exception.stacktrace.frames).toMatchObject([
      { function: 'processMessage', filename: '/srv/app/worker.ts', lineno: 30, colno: 12 },
      { function: 'crunch', filename: '/srv/app/worker.ts', lineno: 12, colno: 5 },
    ]);
  });
});
