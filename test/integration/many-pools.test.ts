/** Many pools side by side in one process (a pool per job or per request): what they share with the process. */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { TaskAbortedError } from 'looppool';
import { makePool } from '../helpers/pools.ts';
import { waitFor } from '../helpers/processes.ts';

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
