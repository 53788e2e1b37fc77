/** Test doubles for the metrics unit tests: a fake clock and a parser for statsd lines. */
import type { Clock, ClockTimer } from '../../../src/metrics/clock.ts';

interface Pending {
  at: number;
  callback: () => void;
  cancelled: boolean;
}

/** A clock that moves only when told to; `advance` fires due timers in order and lets async ticks finish. */
export class FakeClock implements Clock {
  #now = 1_000;
  #timers: Pending[] = [];

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, ms: number): ClockTimer {
    const timer: Pending = { at: this.#now + ms, callback, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  /** Timers scheduled and not yet fired or cancelled. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers.splice(this.#timers.indexOf(due), 1);
      this.#now = Math.max(this.#now, due.at);
      due.callback();
      await new Promise((resolve) => setImmediate(resolve)); // let an async tick settle and reschedule
    }
    this.#now = end;
  }
}

export interface Line {
  name: string;
  value: number;
  type: string;
  tags: string[];
}

/** `a.b:1.5|g|#k:v,x:y` → `{ name: 'a.b', value: 1.5, type: 'g', tags: ['k:v', 'x:y'] }`. */
export function parseLine(line: string): Line {
  const match = /^([^:]+):(-?[\d.]+)\|([a-z]+)(?:\|#(.+))?$/.exec(line);
  if (!match) throw new Error(`not a statsd line: ${JSON.stringify(line)}`);
  return { name: match[1] as string, value: Number(match[2]), type: match[3] as string, tags: match[4] ? match[4].split(',') : [] };
}

/** Every line of a batch of packets/mock entries. */
export function parseAll(chunks: readonly string[]): Line[] {
  return chunks.flatMap((chunk) => chunk.split('\n')).filter((l) => l !== '').map(parseLine);
}

/** The line protocol rule of the reliability notes (T19): names, numbers, types, optional rate and tags. */
export const LINE_PATTERN = /^[A-Za-z0-9_.-]+:-?\d+(\.\d+)?\|(c|g|ms|h|d)(\|@\d*\.?\d+)?(\|#[^|\n]+)?$/;
