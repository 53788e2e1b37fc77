/**
 * Writes records to the output stream: as they finish (default) or in input order (`--ordered`,
 * holding finished lines until every earlier one is written). The records of one turn of the
 * event loop go out in one write: stdout to a file or a pipe is written synchronously, a system
 * call per write (200,000 one-line records: 95k records/s written one by one). Reports
 * backpressure (`ready`) and a reader that went away (EPIPE: `| head`), after which everything is
 * dropped quietly.
 */
import type { Writable } from 'node:stream';

interface PendingLine {
  readonly line: number;
  /** Its records so far (streamed extras, then the final one), and how many. */
  text: string;
  records: number;
  done: boolean;
}

/** The output of one run: records in completion or input order, with backpressure. */
export class RecordWriter {
  readonly #sink: Writable;
  readonly #ordered: boolean;
  /** Lines not yet written (`--ordered`), by number, and in input order from `#head` on. */
  readonly #byLine = new Map<number, PendingLine>();
  #inOrder: PendingLine[] = [];
  #head = 0;
  #drainWaiters: (() => void)[] = [];
  /** Writes the sink has not called back yet, and who waits for the last of them. */
  #unconfirmed = 0;
  #confirmWaiters: (() => void)[] = [];
  #needsDrain = false;
  #broken = false;
  #onBroken: ((error: NodeJS.ErrnoException) => void) | undefined;
  /** Lines expected but not yet written. */
  #open = 0;
  /** Records of this turn of the loop, written together once it ends, and how many. */
  #turn: string[] = [];
  #turnRecords = 0;
  /** Records the sink has taken: those of each write it called back without an error. */
  #taken = 0;

  constructor(sink: Writable, ordered: boolean) {
    this.#sink = sink;
    this.#ordered = ordered;
    sink.on('error', (err: NodeJS.ErrnoException) => this.#fail(err));
    sink.on('drain', () => this.#drained());
  }

  /** Called once when the output can no longer be written (EPIPE or another write error). */
  onBroken(callback: (error: NodeJS.ErrnoException) => void): void {
    this.#onBroken = callback;
  }

  get isBroken(): boolean {
    return this.#broken;
  }

  /** Records the output has taken (each write's callback said so); fewer than were given once it failed. */
  get taken(): number {
    return this.#taken;
  }

  /** Lines registered with `expect` whose final record is not written yet. */
  get openLines(): number {
    return this.#open;
  }

  /** Lines held back for order (`--ordered`): registered, finished or not, and not written yet. */
  get backlog(): number {
    return this.#byLine.size;
  }

  /** True while the sink's buffer is full: wait for `ready()` before producing more. */
  get needsDrain(): boolean {
    return this.#needsDrain && !this.#broken;
  }

  /** Register the next input line (in input order), before any record of it is written. */
  expect(line: number): void {
    this.#open++;
    if (!this.#ordered) return;
    const pending: PendingLine = { line, text: '', records: 0, done: false };
    this.#byLine.set(line, pending);
    this.#inOrder.push(pending);
  }

  /** A streamed result of `line` (or of no line): written at once, or before that line's record when ordered. */
  extra(line: number | null, text: string): void {
    const pending = line === null ? undefined : this.#byLine.get(line);
    if (pending) {
      pending.text += text;
      pending.records++;
    } else this.#write(text, 1);
  }

  /** The final record of `line`. */
  final(line: number, text: string): void {
    this.#open--;
    const pending = this.#byLine.get(line);
    if (!pending) {
      this.#write(text, 1);
      return;
    }
    pending.text += text;
    pending.records++;
    pending.done = true;
    if (pending === this.#inOrder[this.#head]) this.#flushOrdered();
  }

  /** Resolves when the sink has room again (at once if it has). */
  ready(): Promise<void> {
    this.#writeTurn();
    if (!this.#needsDrain || this.#broken) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * {@link end}, unless `giveUp` comes (a stop at once) while a pipe or terminal (`mayStall`) has
   * not taken what was written: its reader stopped reading, and would hold the end for ever. The
   * records it has not taken are then dropped (the sink is destroyed). Resolves false if so.
   */
  async endUnlessStalled(closeSink: boolean, mayStall: boolean, giveUp: Promise<void>): Promise<boolean> {
    const ending = this.end(closeSink).then(() => true);
    if (!mayStall) return ending;
    // Looked at on the turn after `giveUp`: a write the sink has already failed (a terminal that
    // hung up answers EIO at once) is called back on a tick before it, and is a failure, not a stall.
    const stalled = giveUp.then(nextTurn).then(() => (this.#sink.writableLength > 0 ? false : ending));
    const ended = await Promise.race([ending, stalled]);
    if (!ended) {
      this.#broken = true; // given up, not failed: the writes the destroy cancels are no output error
      this.#sink.destroy();
    }
    return ended;
  }

  /** Finish the output (a file is flushed and closed; stdout is left open). */
  async end(closeSink: boolean): Promise<void> {
    this.#writeTurn();
    if (this.#broken) return;
    if (!closeSink) {
      // Every write confirmed: one that failed (a pipe's reader gone, a terminal hung up) is
      // known before the run's exit code is.
      await this.ready();
      if (this.#unconfirmed > 0 && !this.#broken) await new Promise<void>((resolve) => this.#confirmWaiters.push(resolve));
      return;
    }
    await new Promise<void>((resolve) => {
      this.#sink.once('error', () => resolve());
      this.#sink.end(() => resolve());
    });
  }

  /** Write the finished lines at the head of the input order. */
  #flushOrdered(): void {
    const inOrder = this.#inOrder;
    let head = this.#head;
    for (let next = inOrder[head]; next?.done; next = inOrder[++head]) {
      this.#byLine.delete(next.line);
      this.#write(next.text, next.records);
    }
    if (head > 1024 && head * 2 > inOrder.length) {
      this.#inOrder = inOrder.slice(head);
      head = 0;
    }
    this.#head = head;
  }

  #write(text: string, records: number): void {
    if (this.#broken) return;
    this.#turnRecords += records;
    if (this.#turn.push(text) === 1) setImmediate(this.#writeTurn);
  }

  readonly #writeTurn = (): void => {
    const turn = this.#turn;
    if (turn.length === 0) return;
    const records = this.#turnRecords;
    this.#turn = [];
    this.#turnRecords = 0;
    if (this.#broken) return;
    this.#unconfirmed++;
    const confirmed = (error?: Error | null): void => this.#confirmed(error, records);
    if (!this.#sink.write(turn.length === 1 ? (turn[0] as string) : turn.join(''), confirmed)) this.#needsDrain = true;
  };

  #confirmed(error: Error | null | undefined, records: number): void {
    if (error) this.#fail(error); // the sink's 'error' event comes only on a later tick
    else this.#taken += records;
    if (--this.#unconfirmed === 0) this.#confirm();
  }

  #confirm(): void {
    const waiters = this.#confirmWaiters;
    this.#confirmWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #drained(): void {
    this.#needsDrain = false;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #fail(error: NodeJS.ErrnoException): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#drained();
    this.#confirm();
    this.#onBroken?.(error);
  }
}

/** Resolves once the callbacks already queued (ticks, promises, I/O) have run. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
