import { describe, expect, it } from 'vitest';
import { TaskAbortedError, TaskTimeoutError, type WorkerExitInfo } from 'looppool';
import { makePool } from '../helpers/pools.ts';
import { waitFor } from '../helpers/processes.ts';
import type { StormTask } from '../fixtures/workers/storm.ts';

/**
 * A drain stop gives a worker its pill once it has answered the tasks sent to it during the
 * stop; one of them that failed already (past its timeout, or aborted by its caller) and goes on
 * is awaited by nobody, and must not hold the pill until the stop timeout kills the worker.
 */
describe('a drain stop and a task sent during it that failed without ending', () => {
  for (const how of ['timed out', 'aborted'] as const) {
    it(`${how}: the worker still gets its pill and exits cleanly`, async () => {
      const pool = makePool<StormTask, unknown>({ worker: 'storm.ts', size: 1, concurrency: 2, timeoutGrace: 100 });
      const exits: WorkerExitInfo[] = [];
      pool.on('workerExit', (info) => exits.push(info));
      await pool.start();
      const busy = Promise.all([0, 1].map((value) => pool.run({ value, ms: 200 }))); // both credits
      const controller = new AbortController();
      const endless = pool.run({ value: 1, ms: 1e8, deaf: true }, how === 'timed out' ? { timeout: 50 } : { signal: controller.signal }).catch((e: unknown) => e);
      const stopped = pool.stop({ timeout: 6_000 }); // the endless task is sent during the drain
      await busy;
      if (how === 'aborted') {
        await waitFor(() => pool.stats().inFlight === 1, 'the endless task to be sent');
        controller.abort();
      }
      expect(await endless).toBeInstanceOf(how === 'timed out' ? TaskTimeoutError : TaskAbortedError);
      await stopped;
      expect(exits).toMatchObject([{ reason: 'stop', exitCode: 0, signal: null }]);
    });
  }
});
