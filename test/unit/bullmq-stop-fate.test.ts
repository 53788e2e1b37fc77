/** The last line of a stopped `looppool run --bullmq`: what became of the jobs in flight as the stop began. */
import { describe, expect, it } from 'vitest';
import { inFlightFate, stopCounts } from '../../src/cli/bullmq/consume-end.ts';

const at = (active: number, completed = 0, failed = 0, requeued = 0) => ({ active, completed, failed, requeued });

describe('stopCounts', () => {
  it('counts the jobs finished and put back since the stop began, and leaves the rest: still held, or given up by BullMQ (a lost lock)', () => {
    expect(stopCounts(at(4, 10, 1, 2), at(0, 12, 2, 3))).toEqual({ finished: 3, back: 1, left: 0 });
    expect(stopCounts(at(3), at(3))).toEqual({ finished: 0, back: 0, left: 3 }); // Redis down: nothing stored
    expect(stopCounts(at(3), at(0, 2))).toEqual({ finished: 2, back: 0, left: 1 }); // one lost its lock: neither counted nor held
    expect(stopCounts(at(0), at(0))).toEqual({ finished: 0, back: 0, left: 0 });
  });
});

describe('inFlightFate', () => {
  it('says how many finished, went back and were left, in one clause when all alike', () => {
    expect(inFlightFate({ finished: 0, back: 0, left: 0 })).toBe('no job was in flight; the jobs stay in the queue');
    expect(inFlightFate({ finished: 5, back: 0, left: 0 })).toBe('the 5 jobs in flight finished; the others stay in the queue');
    expect(inFlightFate({ finished: 0, back: 1, left: 0 })).toBe('the 1 job in flight went back to the queue; the others stay in the queue');
    expect(inFlightFate({ finished: 0, back: 0, left: 1 })).toBe(
      "the 1 job in flight was neither stored nor put back (Redis did not take it): it stays active in Redis until its lock expires, and BullMQ's stalled-job check then puts it back; the others stay in the queue",
    );
    expect(inFlightFate({ finished: 1, back: 2, left: 3 })).toBe(
      "of the 6 jobs in flight, 1 finished, 2 went back to the queue and 3 were neither stored nor put back (Redis did not take them): they stay active in Redis until their lock expires, and BullMQ's stalled-job check then puts them back; the others stay in the queue",
    );
    expect(inFlightFate({ finished: 2, back: 0, left: 1 })).toMatch(/^of the 3 jobs in flight, 2 finished and 1 was neither stored nor put back/);
  });
});
