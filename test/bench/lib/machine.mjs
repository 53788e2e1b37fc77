/** What the machine is, how busy other processes keep it, and how fast it spins the CPU task. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { spin } from '../handler.mjs';
import { median } from './stats.mjs';

/** Date, CPUs, CPU model, memory, Node version and load average, for the report's header. */
export function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? '?';
  return {
    date: new Date().toISOString(),
    nproc: os.availableParallelism(),
    node: process.version,
    cpu,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    load: loadAverage(),
  };
}

/** `/proc/loadavg` as it reads. */
export function loadAverage() {
  return readFileSync('/proc/loadavg', 'utf8').trim();
}

/** Rounds of `spin` that take about `ms` milliseconds on this machine (median of 7 timings). */
export function calibrate(ms) {
  for (let k = 0; k < 5; k++) spin(1e6, k + 1);
  const perRound = [];
  for (let k = 0; k < 7; k++) {
    const t = performance.now();
    spin(5e6, k + 1);
    perRound.push((performance.now() - t) / 5e6);
  }
  return Math.round(ms / median(perRound));
}

/** Fraction of all CPUs busy (not idle) over the next `ms` milliseconds, from /proc/stat. */
async function cpuBusy(ms) {
  const read = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: f[3] + f[4], total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  return b.total === a.total ? 0 : 1 - (b.idle - a.idle) / (b.total - a.total);
}

/** How long each look at the CPUs lasts: 10 ticks of the kernel's 100 Hz accounting clock per CPU. */
const SAMPLE_MS = 100;

/**
 * Waits before a run until other processes leave the CPUs mostly idle (under `threshold` busy),
 * at most `perRunMs` each time and `budgetMs` in all. `wait()` returns how busy they were.
 */
export class QuietWait {
  #perRunMs;
  #budgetMs;
  #threshold;
  /** Milliseconds spent checking and waiting so far. */
  spent = 0;

  constructor({ perRunMs, budgetMs, threshold = 0.3 }) {
    this.#perRunMs = perRunMs;
    this.#budgetMs = budgetMs;
    this.#threshold = threshold;
  }

  get threshold() {
    return this.#threshold;
  }

  async wait() {
    // The first look is not waiting: charged to the budget, 360 runs' looks alone used most of it.
    let busy = await cpuBusy(SAMPLE_MS);
    const start = performance.now();
    const elapsed = () => performance.now() - start;
    while (busy > this.#threshold && elapsed() < this.#perRunMs && this.spent + elapsed() < this.#budgetMs) {
      await new Promise((r) => setTimeout(r, 500));
      busy = await cpuBusy(SAMPLE_MS);
    }
    this.spent += elapsed();
    return busy;
  }
}
