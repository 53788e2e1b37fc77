import { describe, expect, it } from 'vitest';
import { COMPACT_AFTER, Dispatcher, type Queueable, type WorkerSlot } from '../../src/parent/dispatcher.ts';
import { survivorsAfterGc } from '../helpers/gc.ts';

class Slot implements WorkerSlot {
  inFlight = 0;
  accepting = true;
}
const task = (id: number, target = -1): Queueable => ({ id, target, cancelled: false });

function setup(policy: 'least-busy' | 'round-robin', slots: number, capacity: number) {
  const assigned: [number, number][] = [];
  const s = Array.from({ length: slots }, () => new Slot());
  const d = new Dispatcher<Queueable>(policy, capacity, (t, slot) => {
    assigned.push([t.id, slot]);
    (s[slot] as Slot).inFlight++;
  });
  d.slots = s;
  return { d, s, assigned };
}

describe('Dispatcher', () => {
  it('N×k tasks over N idle slots give exactly k to each (least-busy)', () => {
    const { d, s } = setup('least-busy', 4, 100);
    for (let i = 1; i <= 40; i++) d.enqueue(task(i));
    d.pump();
    expect(s.map((x) => x.inFlight)).toEqual([10, 10, 10, 10]);
  });

  it('never exceeds the capacity; the rest waits in the queue', () => {
    const { d, s } = setup('least-busy', 2, 3);
    for (let i = 1; i <= 10; i++) d.enqueue(task(i));
    d.pump();
    expect(s.map((x) => x.inFlight)).toEqual([3, 3]);
    expect(d.queued).toBe(4);
    (s[1] as Slot).inFlight = 0; // slot 1 answered all its tasks
    d.pump();
    expect(s.map((x) => x.inFlight)).toEqual([3, 3]);
    expect(d.queued).toBe(1);
  });

  it('gives the next task to the least busy slot, rotating among ties', () => {
    const { d, s, assigned } = setup('least-busy', 3, 10);
    (s[0] as Slot).inFlight = 2;
    for (let i = 1; i <= 4; i++) d.enqueue(task(i));
    d.pump();
    expect(assigned).toEqual([[1, 1], [2, 2], [3, 1], [4, 2]]);
  });

  it('on an idle pool, sends the next task to the worker that took the last one (it is awake)', () => {
    const { d, s, assigned } = setup('least-busy', 3, 10);
    for (let i = 1; i <= 3; i++) {
      d.enqueue(task(i));
      d.pump();
      (s[assigned.at(-1)?.[1] as number] as Slot).inFlight = 0; // answered before the next one comes
    }
    expect(assigned.map(([, slot]) => slot)).toEqual([0, 0, 0]);
  });

  it('round-robin goes around the slots with credit', () => {
    const { d, assigned } = setup('round-robin', 3, 10);
    for (let i = 1; i <= 6; i++) d.enqueue(task(i));
    d.pump();
    expect(assigned.map(([, slot]) => slot)).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('skips slots that do not accept tasks (starting, stopping, gone)', () => {
    const { d, s, assigned } = setup('least-busy', 3, 10);
    (s[0] as Slot).accepting = false;
    d.slots[2] = undefined;
    for (let i = 1; i <= 3; i++) d.enqueue(task(i));
    d.pump();
    expect(assigned.map(([, slot]) => slot)).toEqual([1, 1, 1]);
  });

  it('targeted tasks go to their slot only, in order with the global queue', () => {
    const { d, s, assigned } = setup('least-busy', 2, 1);
    (s[1] as Slot).accepting = false;
    d.enqueue(task(1, 1));
    d.enqueue(task(2));
    d.pump();
    expect(assigned).toEqual([[2, 0]]);
    (s[1] as Slot).accepting = true;
    d.pump();
    expect(assigned).toEqual([[2, 0], [1, 1]]);
  });

  it('cancelled tasks are skipped and not counted', () => {
    const { d, assigned } = setup('least-busy', 1, 10);
    const t = task(1);
    d.enqueue(t);
    d.enqueue(task(2));
    d.cancel(t);
    expect(d.queued).toBe(1);
    d.pump();
    expect(assigned).toEqual([[2, 0]]);
  });

  it('canSendNow: a free credit for the target and no task queued before it', () => {
    const { d, s } = setup('least-busy', 2, 1);
    (s[0] as Slot).inFlight = 1;
    expect([d.canSendNow(-1), d.canSendNow(0), d.canSendNow(1)]).toEqual([true, false, true]);
    (s[1] as Slot).inFlight = 1;
    expect(d.canSendNow(-1)).toBe(false);
    d.enqueue(task(1, 1)); // waits for slot 1
    (s[0] as Slot).inFlight = 0;
    expect([d.canSendNow(-1), d.canSendNow(0), d.canSendNow(1)]).toEqual([true, true, false]);
    const waiting = task(2);
    d.enqueue(waiting); // not pumped yet: a global task queued goes before any newer one
    expect(d.canSendNow(0)).toBe(false);
    d.cancel(waiting);
    expect(d.canSendNow(0)).toBe(true);
  });

  it('while a worker starts, a ready one takes only its fair share, and more as it answers; the rule ends with the start', () => {
    const { d, s, assigned } = setup('least-busy', 2, 100);
    let starting = 1;
    d.startingWorkers = () => starting;
    (s[1] as Slot).accepting = false; // starting
    expect(d.canSendNow(-1)).toBe(true); // a first task goes out at once
    for (let i = 1; i <= 10; i++) d.enqueue(task(i));
    d.pump();
    expect(s.map((x) => x.inFlight)).toEqual([5, 0]); // ceil(10 / 2)
    expect(d.canSendNow(-1)).toBe(false);
    (s[0] as Slot).inFlight -= 2; // two answers: 8 tasks left, 4 each
    d.pump();
    expect(s.map((x) => x.inFlight)).toEqual([4, 0]);
    starting = 0;
    (s[1] as Slot).accepting = true;
    d.pump();
    expect(s.map((x) => x.inFlight)).toEqual([4, 4]);
    expect(d.queued).toBe(0);
    expect(assigned.filter(([, slot]) => slot === 1).map(([id]) => id)).toEqual([7, 8, 9, 10]);
  });

  it('while a worker starts, a task sent to a ready worker by number is not held to the share', () => {
    const { d, s } = setup('round-robin', 2, 100);
    d.startingWorkers = () => 1;
    (s[1] as Slot).accepting = false;
    (s[0] as Slot).inFlight = 4;
    for (let i = 1; i <= 3; i++) d.enqueue(task(i, 0));
    d.pump();
    expect(s.map((x) => x.inFlight)).toEqual([7, 0]);
  });

  it('requeue puts a task back at the head; takeAll empties every queue in id order', () => {
    const { d, s } = setup('least-busy', 1, 10);
    (s[0] as Slot).accepting = false;
    d.enqueue(task(5));
    d.enqueue(task(3, 0));
    d.requeue(task(1));
    expect(d.queued).toBe(3);
    expect(d.takeAll().map((t) => t.id)).toEqual([1, 3, 5]);
    expect(d.queued).toBe(0);
  });
});

describe('tasks a worker handed back', () => {
  it('go to another worker under round-robin, whose turn stays where it was for the other tasks', () => {
    const { d, s, assigned } = setup('round-robin', 2, 10);
    d.enqueue(task(1));
    d.enqueue(task(2));
    d.pump(); // 1 to slot 0, 2 to slot 1: slot 0's turn next
    (s[0] as Slot).inFlight = 4; // slot 0 holds a backlog, slot 1 answered
    (s[1] as Slot).inFlight = 0;
    assigned.length = 0;
    for (const id of [12, 11, 10]) d.requeue(task(id), 0); // handed back by slot 0, queued again newest first
    d.enqueue(task(13));
    d.enqueue(task(14));
    d.pump();
    // Before: its turn sent 10 and 12 straight back to slot 0, which had just handed them back.
    expect(assigned).toEqual([[10, 1], [11, 1], [12, 1], [13, 0], [14, 1]]);
  });

  it('go to the least busy of the other workers under least-busy, even when the one that handed them back is less busy', () => {
    const { d, s, assigned } = setup('least-busy', 3, 10);
    (s[0] as Slot).inFlight = 1;
    (s[1] as Slot).inFlight = 2;
    (s[2] as Slot).inFlight = 2;
    d.requeue(task(2), 0);
    d.requeue(task(1), 0);
    d.pump();
    expect(assigned).toEqual([[1, 1], [2, 2]]);
  });

  it('go back to the worker that handed them back when no other has a free credit: the queue never waits beside a free credit', () => {
    const { d, s, assigned } = setup('round-robin', 3, 2);
    (s[1] as Slot).accepting = false; // sent its stop pill, say
    (s[2] as Slot).inFlight = 2; // full
    d.requeue(task(1), 0);
    d.enqueue(task(2));
    d.pump();
    expect(assigned).toEqual([[1, 0], [2, 0]]);
    expect(d.queued).toBe(0);
  });

  it('avoid that worker for their next dispatch only, and not once aborted in the queue', () => {
    const { d, s, assigned } = setup('least-busy', 2, 10);
    (s[0] as Slot).inFlight = 3;
    const t = task(1);
    d.requeue(t, 0);
    d.pump();
    expect(assigned).toEqual([[1, 1]]);
    (s[1] as Slot).inFlight = 5;
    d.requeue(t); // its worker died: a retry goes to the least busy, whichever it is
    const aborted = task(2);
    d.requeue(aborted, 0);
    d.cancel(aborted);
    d.pump();
    expect(assigned).toEqual([[1, 1], [1, 0]]);
    expect(d.queued).toBe(0);
  });
});

describe('cancelled tasks behind a head that does not move', () => {
  it('are let go of once they outnumber the live ones (before: every one was held, past maxQueue, until the head moved)', async () => {
    const { d, s, assigned } = setup('least-busy', 1, 1);
    (s[0] as Slot).accepting = false; // no credit: the head stays
    d.enqueue(task(1));
    d.enqueue(task(2, 0));
    const refs: WeakRef<Queueable>[] = [];
    for (let id = 3; id < 20_003; id++) {
      const t = task(id, id % 2 === 0 ? 0 : -1);
      d.enqueue(t);
      d.cancel(t);
      refs.push(new WeakRef(t));
    }
    expect(d.queued).toBe(2);
    const alive = await survivorsAfterGc(refs);
    expect(alive).toBeLessThanOrEqual(2 * COMPACT_AFTER);
    (s[0] as Slot).accepting = true;
    d.pump();
    expect(assigned).toEqual([[1, 0]]); // the one credit: the oldest live task
    expect(d.takeAll().map((t) => t.id)).toEqual([2]); // the other live one, none cancelled
  });
});

