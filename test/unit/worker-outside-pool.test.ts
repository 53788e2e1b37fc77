/** A Worker class made outside a pool, as in a unit test of the user's own worker: it starts nothing. */
import { describe, expect, it } from 'vitest';
import { ResultClosedError, Worker } from 'looppool/worker';

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
});
