/** The consumer's completed/failed counts follow BullMQ's moves of the job, not its task's settling. */
import type { Job } from 'bullmq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JobMetadata } from '../../src/bullmq/job-outcome.ts';
import { Outcomes, STORE_GRACE_MS, type Settled } from '../../src/bullmq/outcomes.ts';

const job = (id: string): Job => ({ id }) as unknown as Job;
const info = (jobId: string) => ({ jobId, name: 't', meta: { attempt: 1 } as JobMetadata });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Outcomes', () => {
  it('counts and emits an attempt only when BullMQ moves its job, once, and ignores jobs it did not run', () => {
    const emitted: Settled<string>[] = [];
    const outcomes = new Outcomes<string>((s) => emitted.push(s));
    const a = job('a');
    const b = job('b');
    outcomes.settled(a, { outcome: 'completed', value: 'A', info: info('a') });
    const failure = new Error('bad');
    outcomes.settled(b, { outcome: 'failed', error: failure, info: info('b') });
    expect([outcomes.completed, outcomes.failed, emitted.length]).toEqual([0, 0, 0]); // settled, not moved: a lost lock stops here
    expect(outcomes.storing).toBe(2); // what maxJobs counts as done already

    outcomes.moved(a, undefined);
    outcomes.moved(a, undefined); // BullMQ moves a job once; a second event is not counted again
    outcomes.moved(b, new Error('as BullMQ passes it'));
    outcomes.moved(job('a'), undefined); // another object with the same id: a job this consumer did not run
    outcomes.moved(undefined, new Error('no job'));

    expect([outcomes.completed, outcomes.failed, outcomes.storing]).toEqual([1, 1, 0]);
    expect(emitted).toEqual([
      { outcome: 'completed', value: 'A', info: info('a') },
      { outcome: 'failed', error: failure, info: info('b') }, // the consumer's own error, not BullMQ's copy
    ]);
  });

  it('counts a returned task failed when BullMQ fails its job instead (it could not store the completion)', () => {
    const emitted: Settled<string>[] = [];
    const outcomes = new Outcomes<string>((s) => emitted.push(s));
    const a = job('a');
    outcomes.settled(a, { outcome: 'completed', value: 'A', info: info('a') });
    const error = new Error('could not complete');
    outcomes.moved(a, error);
    expect([outcomes.completed, outcomes.failed]).toEqual([0, 1]);
    expect(emitted).toEqual([{ outcome: 'failed', error, info: info('a') }]);
  });

  it('forgets an attempt being stored after STORE_GRACE_MS (a lost lock: BullMQ never moves it), and still counts it if it is moved later', () => {
    let now = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const outcomes = new Outcomes<string>(() => {});
    const a = job('a');
    const b = job('b');
    outcomes.settled(a, { outcome: 'completed', value: 'A', info: info('a') });
    now += STORE_GRACE_MS / 2;
    outcomes.settled(b, { outcome: 'completed', value: 'B', info: info('b') });
    expect(outcomes.storing).toBe(2);
    now += STORE_GRACE_MS / 2;
    expect(outcomes.storing).toBe(1); // a is forgotten, b not yet
    now += STORE_GRACE_MS;
    expect(outcomes.storing).toBe(0);
    outcomes.moved(a, undefined); // Redis was only slow: counted all the same
    expect([outcomes.completed, outcomes.storing]).toEqual([1, 0]);
  });

  it('does not count a failed task completed', () => {
    const outcomes = new Outcomes<string>(() => {});
    const b = job('b');
    outcomes.settled(b, { outcome: 'failed', error: new Error('x'), info: info('b') });
    outcomes.moved(b, undefined);
    expect([outcomes.completed, outcomes.failed]).toEqual([0, 0]);
  });
});
