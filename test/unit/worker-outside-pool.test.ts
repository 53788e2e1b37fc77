/** A Worker class made outside a pool, as in a unit test of the user's own worker: it starts nothing. */
import { describe, expect, it } from 'vitest';
import { PoolError, ResultClosedError, Worker, WorkerNotInPoolError } from 'looppool/worker';
import * as parentSide from 'looppool';

class Streams extends Worker<number, number> {
  override processMessage(task: number): number {
    this.putResult(task * 10);
    return task;
  }
}

describe('a Worker outside a pool', () => {
  it('this.putResult() throws ResultClosedError (typed, no task id): nothing is sent anywhere', () => {
    const worker = new Streams();
    let thrown: unknown;
    try {
      worker.processMessage(1);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ResultClosedError);
    expect(thrown).toMatchObject({ name: 'ResultClosedError', code: 'ERR_RESULT_CLOSED', taskId: null });
    expect((thrown as Error).message).toMatch(/not running in a pool/);
  });

  it.each(['number', 'workerData', 'poolName'] as const)('this.%s throws WorkerNotInPoolError (typed, naming the getter and when it is set)', (property) => {
    const worker = new Streams();
    let thrown: unknown;
    try {
      void worker[property];
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(WorkerNotInPoolError);
    expect(thrown).toBeInstanceOf(PoolError);
    expect(thrown).toBeInstanceOf(parentSide.WorkerNotInPoolError); // one class, from either entry
    expect(thrown).toMatchObject({ name: 'WorkerNotInPoolError', code: 'ERR_WORKER_NOT_IN_POOL', property });
    expect((thrown as Error).message).toBe(
      `Cannot read this.${property}: this worker is not running in a pool (in its constructor, or made with new outside one, as in a unit test). ` +
        'A worker a Pool started has it from initialize() on: read it there or later',
    );
  });
});
