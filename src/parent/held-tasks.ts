/**
 * The tasks one worker holds, seen from the parent, and the messages that move them: a task is
 * sent, may be asked to abort, and leaves by its answer, by a hand-back (`reclaim`), or with the
 * process. Which tasks it holds is what makes an answer legal: the handle treats an answer for
 * any other task as a protocol breach.
 */
import { monotonicMs } from '../internal/monotonic.ts';
import { TASK } from '../protocol/messages.ts';
import { IdTable } from '../internal/id-table.ts';
import type { Channel } from '../transport/channel.ts';
import type { PendingTask } from './task.ts';

/** What a worker has done with its tasks; `sent` counts toward `maxTasksPerWorker`. */
export interface TaskCounts {
  sent: number;
  done: number;
  failed: number;
}

/**
 * What the rest of the parent may do with a worker's tasks; taking them out (answers, hand-backs,
 * the exit) is the handle's alone, as it reads the worker's messages.
 */
export type TaskLink = Pick<HeldTasks, 'counts' | 'size' | 'movable' | 'ids' | 'has' | 'send' | 'abort' | 'reclaim' | 'reclaiming' | 'reclaimAskedAt' | 'beforePill' | 'abandonedIn'>;

/** `asked`: a `reclaim` went out and its `reclaimed` answer has not come back yet. */
type ReclaimState = 'none' | 'asked';

export class HeldTasks {
  readonly counts: TaskCounts = { sent: 0, done: 0, failed: 0 };
  readonly #worker: number;
  readonly #channel: Channel;
  readonly #table = new IdTable<PendingTask>();
  /** Ids of the held tasks sent to this worker by number (`worker: n`): never handed back. */
  readonly #pinned = new Set<number>();
  /** Ids of the held tasks the pool sent while it drained for a stop: answered before the pill. */
  readonly #drained = new Set<number>();
  /** Held tasks their callers aborted, by id: when their grace to end ends (`monotonicMs()`). */
  readonly #graceEnds = new Map<number, number>();
  #reclaim: ReclaimState = 'none';
  #reclaimAskedAt = 0;

  constructor(worker: number, channel: Channel) {
    this.#worker = worker;
    this.#channel = channel;
  }

  get size(): number {
    return this.#table.size;
  }

  /** How many of them may be handed back: those not sent to this worker by number. */
  get movable(): number {
    return this.#table.size - this.#pinned.size;
  }

  /**
   * Whether it holds only tasks that settled without an answer (timed out past their grace, or
   * aborted by their callers), which nobody waits for and which may never end: undefined if not,
   * or if it holds none; else the ms left until each aborted one has had its grace to end since
   * its abort (0 or less: none is left).
   */
  abandonedIn(now: number): number | undefined {
    // Checked on every answer of a draining worker: no copy, no sort.
    if (this.#table.size === 0 || !this.#table.every(isSettled)) return undefined;
    let wait = 0;
    for (const ends of this.#graceEnds.values()) wait = Math.max(wait, ends - now);
    return wait;
  }

  /** Ids of the tasks it holds, ascending. */
  ids(): number[] {
    return this.#table.keys();
  }

  has(id: number): boolean {
    return this.#table.has(id);
  }

  /**
   * Send a task (the dispatcher checked the credit). `draining`: the pool is stopping and drains
   * its queue; the task must be answered before this worker gets the pill (see `beforePill`).
   */
  send(task: PendingTask, draining = false): void {
    task.worker = this.#worker;
    task.attempt++;
    this.counts.sent++;
    this.#table.set(task.id, task);
    if (task.target !== -1) this.#pinned.add(task.id);
    if (draining) this.#drained.add(task.id);
    // A task depends on nothing sent before it: it may pass big tasks still queued (see Channel).
    if (typeof task.payload === 'string') this.#channel.sendTuple(TASK, task.id, task.attempt, task.payload, true);
    else this.#channel.sendTupleWithClone(TASK, task.id, task.attempt, task.payload, true);
  }

  /**
   * Ask the worker to abort a task's signal (its answer still returns the credit). `graceEnds`:
   * its caller aborted it, and it has until then to end before it counts as abandoned.
   */
  abort(id: number, reason: 'abort' | 'timeout', graceEnds?: number): void {
    if (!this.#table.has(id)) return;
    if (graceEnds !== undefined) this.#graceEnds.set(id, graceEnds);
    this.#channel.sendJson(`{"kind":"abort","id":${id},"reason":"${reason}"}`);
  }

  /**
   * Ask the worker to hand back a share of the tasks it holds but has not started, for `idle`
   * idle workers; one request at a time (see `handBack`).
   */
  reclaim(idle: number): void {
    if (this.#reclaim === 'asked') return;
    this.#reclaim = 'asked';
    this.#reclaimAskedAt = monotonicMs();
    this.#channel.sendJson(`{"kind":"reclaim","idle":${idle},"keep":[${[...this.#pinned].join(',')}]}`, true);
    this.#channel.flush();
  }

  /**
   * Whether it still holds a task sent while the pool drained, unsettled: it gets the pill once
   * it holds none. One that failed already (timed out, or aborted by its caller) and goes on is
   * awaited by nobody, and may never end: it holds the pill back no more than a task sent before.
   * Asked on every answer during a drain, it stops at the first such task (the oldest, as a rule):
   * a count walked every task the worker held, and a drain at `concurrency` 10,000 took 6.6 s for
   * 100,000 tasks that took 0.55 s while the pool ran.
   */
  get beforePill(): boolean {
    for (const id of this.#drained) if (this.#table.get(id)?.settled === false) return true;
    return false;
  }

  /** A `reclaim` is unanswered. */
  get reclaiming(): boolean {
    return this.#reclaim === 'asked';
  }

  /** When the unanswered `reclaim` went out (`monotonicMs()`), if there is one. */
  get reclaimAskedAt(): number | undefined {
    return this.#reclaim === 'asked' ? this.#reclaimAskedAt : undefined;
  }

  /** The task an answer settles, no longer held; undefined if it does not hold it. */
  take(id: number): PendingTask | undefined {
    const task = this.#table.get(id);
    if (task === undefined) return undefined;
    this.#table.delete(id);
    if (task.target !== -1) this.#pinned.delete(id);
    if (this.#drained.size !== 0) this.#drained.delete(id);
    if (this.#graceEnds.size !== 0) this.#graceEnds.delete(id);
    return task;
  }

  /**
   * The worker's answer to `reclaim`: the tasks it handed back, no longer held (nor counted as
   * sent). A string says how the answer broke the protocol (unasked, or naming tasks it does
   * not hold or was told to keep); the request then counts as answered and no task leaves.
   */
  handBack(ids: number[]): PendingTask[] | string {
    if (this.#reclaim !== 'asked') return 'tasks handed back unasked';
    this.#reclaim = 'none';
    if (new Set(ids).size !== ids.length || !ids.every((id) => this.#table.has(id))) {
      return `handed back tasks it does not hold (${ids.join(', ')})`;
    }
    if (ids.some((id) => this.#pinned.has(id))) return `handed back tasks sent to it by number (${ids.join(', ')})`;
    this.counts.sent -= ids.length;
    return ids.map((id) => this.take(id) as PendingTask);
  }

  /** The process is gone: every task it still held, by ascending id; it holds none after. */
  release(): PendingTask[] {
    this.#reclaim = 'none';
    const tasks = this.#table.values();
    this.#table.clear();
    this.#pinned.clear();
    this.#drained.clear();
    this.#graceEnds.clear();
    return tasks;
  }
}

const isSettled = (task: PendingTask): boolean => task.settled;
