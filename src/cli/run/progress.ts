/**
 * The live display of `looppool run` on a terminal's stderr: one line for the run (done/total,
 * rate, ETA, failures) and one per worker (pid, in flight, CPU %, RSS), redrawn in place at
 * most five times a second. Messages printed through `log` appear above it.
 */
import { Writable } from 'node:stream';
import type { TerminalStream } from '../io.ts';
import { count, fit, formatBytes, formatDuration, formatPercent, formatRate } from '../format.ts';
import { sampleUsage, type Usage } from '../proc/usage.ts';

/** What the display shows, read at each redraw. */
export interface ProgressSnapshot {
  readonly name: string;
  readonly finished: number;
  readonly failed: number;
  readonly total: number | undefined;
  readonly restarts: number;
  readonly state: string;
  readonly workers: readonly { readonly worker: number; readonly pid: number; readonly inFlight: number; readonly done: number; readonly state: string }[];
}

const REDRAW_MS = 200;
const SAMPLE_MS = 1000;
const RATE_WINDOW_MS = 5000;

/** The live display on stderr (only on a terminal). */
export class ProgressDisplay {
  readonly #stream: TerminalStream;
  readonly #read: () => ProgressSnapshot;
  readonly #rates: { t: number; finished: number }[] = [];
  #usage = new Map<number, Usage>();
  #lines = 0;
  #redraw: NodeJS.Timeout | undefined;
  #sampler: NodeJS.Timeout | undefined;
  #sampling = false;

  constructor(stream: TerminalStream, read: () => ProgressSnapshot) {
    this.#stream = stream;
    this.#read = read;
  }

  start(): void {
    this.#draw();
    this.#redraw = setInterval(() => this.#draw(), REDRAW_MS);
    this.#redraw.unref();
    void this.#sample();
    this.#sampler = setInterval(() => void this.#sample(), SAMPLE_MS);
    this.#sampler.unref();
  }

  /** True between `start()` and `stop()`. */
  get isActive(): boolean {
    return this.#redraw !== undefined;
  }

  /** Print `text` (one or more lines) above the display; `written` is called as the stream's write callback is. */
  log(text: string, written?: (error?: Error | null) => void): void {
    this.#stream.write(`${this.#clear()}${text.endsWith('\n') ? text : `${text}\n`}`, written);
    this.#lines = 0;
    if (this.#redraw) this.#draw();
  }

  /**
   * A stream that prints above the display: for records when stdout is the same terminal as
   * stderr (otherwise redrawing would overwrite them). What is written while the terminal still
   * takes an earlier write goes out together. A write counts as done only once the terminal took
   * it: one it fails (EIO once it hung up) fails this stream, and the records' writer hears it
   * before it calls the output finished.
   */
  above(): Writable {
    const print = (text: string, done: (error?: Error | null) => void): void => {
      if (this.#redraw) this.log(text, done);
      else this.#stream.write(text, done);
    };
    return new Writable({
      decodeStrings: false,
      write: (chunk: Buffer | string, _encoding, callback) => print(chunk.toString(), callback),
      writev: (chunks, callback) => print(chunks.map(({ chunk }) => (chunk as Buffer | string).toString()).join(''), callback),
    });
  }

  /** Remove the display (the summary is printed in its place). */
  stop(): void {
    clearInterval(this.#redraw);
    clearInterval(this.#sampler);
    this.#redraw = undefined;
    this.#stream.write(this.#clear());
    this.#lines = 0;
  }

  #clear(): string {
    return this.#lines === 0 ? '' : `\x1b[${this.#lines}F\x1b[J`;
  }

  #draw(): void {
    const snap = this.#read();
    const lines = [this.#headline(snap)];
    for (const w of snap.workers) {
      const usage = this.#usage.get(w.pid);
      lines.push(
        `  worker ${w.worker}  pid ${w.pid < 0 ? '-' : w.pid}  ${w.state.padEnd(10)} in flight ${String(w.inFlight).padStart(4)}  ` +
          `cpu ${formatPercent(usage?.cpu).padStart(4)}  rss ${formatBytes(usage?.rss).padStart(9)}  done ${w.done}`,
      );
    }
    const width = this.#stream.columns;
    const frame = lines.map((l) => fit(l, width)).join('\n');
    this.#stream.write(`${this.#clear()}${frame}\n`);
    this.#lines = lines.length;
  }

  #headline(snap: ProgressSnapshot): string {
    const now = performance.now();
    this.#rates.push({ t: now, finished: snap.finished });
    while (this.#rates.length > 2 && now - (this.#rates[0] as { t: number }).t > RATE_WINDOW_MS) this.#rates.shift();
    const first = this.#rates[0] as { t: number; finished: number };
    const rate = now - first.t > 0 ? ((snap.finished - first.finished) * 1000) / (now - first.t) : 0;
    const parts = [`looppool ${snap.name}`];
    if (snap.total === undefined) parts.push(`${snap.finished} done`);
    else parts.push(`${snap.finished}/${snap.total} done (${snap.total === 0 ? 100 : Math.floor((snap.finished * 100) / snap.total)}%)`);
    parts.push(formatRate(rate));
    if (snap.total !== undefined && rate > 0) parts.push(`ETA ${formatDuration(((snap.total - snap.finished) / rate) * 1000)}`);
    parts.push(`${snap.failed} failed`);
    if (snap.restarts > 0) parts.push(count(snap.restarts, 'restart'));
    if (snap.state !== 'running') parts.push(snap.state);
    return parts.join(' · ');
  }

  async #sample(): Promise<void> {
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      this.#usage = await sampleUsage(this.#read().workers.map((w) => w.pid).filter((pid) => pid > 0));
    } finally {
      this.#sampling = false;
    }
  }
}
