/** Many pools in one process, side by side or one after another (a pool per job or per request): what they share with the process, and what a stopped one leaves. */
import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Pool, TaskAbortedError, type PoolOptions } from 'looppool';
import { fixture, makePool } from '../helpers/pools.ts';
import { survivorsAfterGc } from '../helpers/gc.ts';
import { waitFor } from '../helpers/processes.ts';
import { startSentryEndpoint } from '../helpers/sentry-endpoint.ts';
import { startUdpSink } from './metrics/udp-sink.ts';

describe('many pools in one process', () => {
  it('may run tasks under one signal: one listener for all, no leak warning, and the abort ends each', async () => {
    // Before: each pool listened on its own, and at 11 pools (a pool per job under an application's
    // shutdown signal) Node warned of a leak (MaxListenersExceededWarning).
    const pools = Array.from({ length: 11 }, () => makePool({ worker: 'abortable.ts', size: 1 }));
    await Promise.all(pools.map((pool) => pool.start()));
    const warnings: Error[] = [];
    const onWarning = (warning: Error): number => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      const runs = pools.map((pool, i) => pool.run(i, { signal: controller.signal }).catch((e: unknown) => e));
      await waitFor(() => pools.every((pool) => pool.stats().inFlight === 1), 'every pool to have its task running');
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
      controller.abort();
      for (const outcome of await Promise.all(runs)) expect(outcome).toBeInstanceOf(TaskAbortedError);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      await new Promise((resolve) => setImmediate(resolve)); // a warning is emitted on a later tick
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('a pool per job, one after another', () => {
  it('leaves nothing behind once stopped, with every part it adds to the parent: no listener, no handle, and it is collected', async () => {
    // Before: with a `taskTimeout`, a stopped pool was held (timer, deadlines, the whole pool, its
    // worker's handle) until its timeout timer fired, up to `taskTimeout` ms after the stop: every
    // pool an application stopped in that time, a pool per job.
    const runtime = mkdtempSync(path.join(os.tmpdir(), 'lpgc-'));
    const savedRuntime = process.env.XDG_RUNTIME_DIR;
    process.env.XDG_RUNTIME_DIR = runtime; // the control socket's directory: this test's own
    const statsd = await startUdpSink();
    const sentry = await startSentryEndpoint();
    try {
      const options: Omit<PoolOptions, 'worker'> = {
        size: 1,
        name: 'per-job',
        statsd: { host: '127.0.0.1', port: statsd.port },
        reportInterval: 20,
        sentry: { dsn: sentry.dsn },
        control: true,
        taskTimeout: 30_000, // far longer than the test
        maxMemoryPerWorker: 2 ** 40,
        memoryCheckInterval: 10,
        blockedLoopThreshold: 1000,
      };
      const listeners = (): Record<string, number> => Object.fromEntries(PROCESS_EVENTS.map((e) => [e, process.listenerCount(e)]));
      // The processes of an earlier test, gone but maybe not yet reaped, are not part of the baseline.
      await waitFor(() => !handles().includes('ProcessWrap'), 'the child processes of earlier tests to be reaped');
      const before = { listeners: listeners(), resources: handles() };
      const pools: WeakRef<Pool>[] = [];
      for (let i = 0; i < 3; i++) pools.push(await runOnePool(options));
      await statsd.until((lines) => lines.length > 0, 'the pools to report to statsd');
      expect(listeners()).toEqual(before.listeners);
      await waitFor(() => sameItems(handles(), before.resources), `the handles to be those of before (${before.resources.join(', ')})`, 5_000);
      expect(await survivorsAfterGc(pools)).toBe(0);
    } finally {
      await statsd.close();
      await sentry.close();
      if (savedRuntime === undefined) delete process.env.XDG_RUNTIME_DIR;
      else process.env.XDG_RUNTIME_DIR = savedRuntime;
      rmSync(runtime, { recursive: true, force: true });
    }
  });
});

/** The events of `process` a pool may listen to, now or in a future version. */
const PROCESS_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'exit', 'beforeExit', 'uncaughtException', 'unhandledRejection', 'warning'] as const;

/** Active resources that are not timers: the test runner has timers of its own. */
function handles(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r !== 'Timeout' && r !== 'Immediate').sort();
}

function sameItems(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A pool as a job would use it: created, started, a few tasks, stopped; only a WeakRef to it is kept. */
async function runOnePool(options: Omit<PoolOptions, 'worker'>): Promise<WeakRef<Pool>> {
  const pool = new Pool({ worker: fixture('echo.mjs'), ...options });
  pool.stopOnSignals();
  try {
    await pool.start();
    for (let i = 0; i < 3; i++) expect(await pool.run(i)).toBe(i);
    expect(await Promise.all([pool.run('a'), pool.run('b')])).toEqual(['a', 'b']);
    await pool.stop();
  } finally {
    await pool.terminate(); // when something above threw; a no-op on a stopped pool
  }
  return new WeakRef(pool);
}

