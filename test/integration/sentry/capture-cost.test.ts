/**
 * What Sentry's captures may cost a pool's processes (src/sentry/capture-queue.ts): a failed
 * task's answer goes out before its error is captured, and an error storm sends a few events that
 * account for every failure instead of one event each (which held a worker's loop long enough to
 * be killed as blocked, and which the SDK silently dropped past 64 at a time).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makePool } from '../../helpers/pools.ts';
import { waitFor } from '../../helpers/processes.ts';
import { startSentryEndpoint, type SentryEndpoint } from '../../helpers/sentry-endpoint.ts';

let endpoint: SentryEndpoint | undefined;
const markers: string[] = [];

afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
  for (const marker of markers.splice(0)) rmSync(marker, { force: true });
});

/** Failures an event stands for: itself and the repeats merged into it. */
const occurrences = (event: Record<string, any>): number => event.contexts?.looppool?.occurrences ?? 1;

describe("Sentry's cost to a pool", () => {
  it("sends a failed task's answer before Sentry captures its error; the event still goes", async () => {
    endpoint = await startSentryEndpoint();
    const pool = makePool({ worker: 'reports-after-answer.mjs', size: 1, name: 'answers', sentry: { dsn: endpoint.dsn } });
    await pool.start();
    const marker = path.join(tmpdir(), `looppool-answered-${process.pid}-${Date.now()}`);
    markers.push(marker);
    let failure: unknown;
    pool.run(marker).catch((err: unknown) => (failure = err));
    // The capture holds the worker until the marker exists: the answer must have gone out before it.
    await waitFor(() => failure !== undefined, "the failed task's answer, before its error is captured");
    expect(failure).toMatchObject({ name: 'TaskError', cause: { name: 'SlowToReport', message: 'reported after the answer' } });
    writeFileSync(marker, '');
    const [event] = await endpoint.waitForEvents(1);
    expect(event?.tags).toMatchObject({ pool: 'answers', worker: '0', taskId: '1', role: 'worker' });
    expect(event?.exception?.values?.at(-1)).toMatchObject({ type: 'SlowToReport', mechanism: { type: 'looppool.task' } });
  });

  it.each(['run', 'put'] as const)("sends a failed task's answer before its capture while CPU-bound tasks wait and answers are held back (%s)", async (how) => {
    endpoint = await startSentryEndpoint();
    const pool = makePool({ worker: 'reports-after-answer.mjs', size: 1, concurrency: 40, name: 'held', sentry: { dsn: endpoint.dsn } });
    await pool.start();
    const marker = path.join(tmpdir(), `looppool-answered-held-${process.pid}-${Date.now()}`);
    markers.push(marker);
    let failure: unknown;
    const spins = Array.from({ length: 10 }, () => pool.run(15));
    if (how === 'run') pool.run(marker).catch((err: unknown) => (failure = err));
    else pool.on('taskError', (err) => (failure = err)).put(marker);
    spins.push(...Array.from({ length: 20 }, () => pool.run(15))); // a backlog: the worker holds its answers back
    const spun = Promise.allSettled(spins);
    // The capture holds the worker until the marker exists: the answer must have gone out before it.
    try {
      await waitFor(() => failure !== undefined, "the failed task's answer, before its error is captured");
    } finally {
      writeFileSync(marker, ''); // the capture goes on, whatever came first
    }
    expect(failure).toMatchObject({ name: 'TaskError', cause: { name: 'SlowToReport' } });
    expect((await spun).every((s) => s.status === 'fulfilled')).toBe(true);
    const [event] = await endpoint.waitForEvents(1);
    expect(event?.tags).toMatchObject({ pool: 'held', taskId: '11' });
  });

  it('a storm of one error in a worker: a few events whose occurrences add up to every failure', async () => {
    endpoint = await startSentryEndpoint();
    const pool = makePool({ worker: 'throws.ts', size: 1, concurrency: 200, name: 'storm', sentry: { dsn: endpoint.dsn } });
    await pool.start();
    const settled = await Promise.allSettled(Array.from({ length: 200 }, () => pool.run('sync')));
    expect(settled.every((s) => s.status === 'rejected')).toBe(true);
    await pool.stop(); // the worker runs what waits and flushes before it exits
    const events = endpoint.events();
    expect(events.length).toBeLessThan(200);
    expect(events.some((e) => occurrences(e) > 1)).toBe(true);
    expect(events.reduce((sum, e) => sum + occurrences(e), 0)).toBe(200);
    expect(events.every((e) => e.tags?.pool === 'storm' && /^\d+$/.test(e.tags?.taskId))).toBe(true);
  });

  it('a storm of timeouts in the parent: a few events whose occurrences add up to every timeout', async () => {
    endpoint = await startSentryEndpoint();
    const pool = makePool({ worker: 'throws.ts', size: 1, concurrency: 60, name: 'late', sentry: { dsn: endpoint.dsn } });
    await pool.start();
    const settled = await Promise.allSettled(Array.from({ length: 60 }, () => pool.run('until-aborted', { timeout: 200 })));
    expect(settled.every((s) => s.status === 'rejected' && (s.reason as Error).name === 'TaskTimeoutError')).toBe(true);
    await pool.stop(); // the parent runs what waits and flushes
    const events = endpoint.events().filter((e) => e.tags?.role === 'parent');
    expect(events.length).toBeLessThan(60);
    expect(events.reduce((sum, e) => sum + occurrences(e), 0)).toBe(60);
    expect(events.every((e) => e.exception?.values?.at(-1)?.type === 'TaskTimeoutError')).toBe(true);
  });
});
