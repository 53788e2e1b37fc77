#!/usr/bin/env node
// Soak: push tasks through a pool for a while and print, every 5 s, the throughput and the RSS
// of the parent and of each worker. RSS must stay flat: a leak per task shows as a slope.
//
//   npm run build && node test/bench/soak.mjs [--seconds 60] [--size 2] [--concurrency 100] [--every 5]
//
// Tasks are a mix: tiny echoes, 64 KiB strings, Maps (the V8 path), failures (TaskError) and
// tasks that wait a timer. Ends with the RSS slope of each process (MiB per minute, least squares
// over the second half) and exits 1 if a task went missing.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Pool } from 'looppool';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    size: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '100' },
    every: { type: 'string', default: '5' },
  },
});
const seconds = Number(values.seconds);
const every = Number(values.every) * 1000;
const worker = fileURLToPath(new URL('./workers/soak-worker.mjs', import.meta.url));
const pool = new Pool({ worker, size: Number(values.size), concurrency: Number(values.concurrency), name: 'soak' });
await pool.start();

const rssOf = (pid) => {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : NaN;
  } catch {
    return NaN;
  }
};
const big = 'x'.repeat(64 * 1024);
const taskFor = (i) => {
  switch (i % 10) {
    case 0: return { kind: 'big', data: big };
    case 1: return { kind: 'map', data: new Map([[i, { at: new Date(i) }]]) };
    case 2: return { kind: 'fail' };
    case 3: return { kind: 'sleep', ms: 1 + (i % 5) };
    default: return { kind: 'echo', data: i };
  }
};

let submitted = 0;
let settled = 0;
let failed = 0;
const window = Number(values.size) * Number(values.concurrency);
const deadline = Date.now() + seconds * 1000;
const samples = []; // { t, parent, workers: [] }
const started = Date.now();
let lastSettled = 0;

const report = () => {
  const t = (Date.now() - started) / 1000;
  const workers = pool.stats().workers.map((w) => rssOf(w.pid));
  const parent = process.memoryUsage.rss() / 1024 / 1024;
  samples.push({ t, parent, workers });
  const rate = (settled - lastSettled) / (every / 1000);
  lastSettled = settled;
  console.log(`${t.toFixed(0).padStart(4)} s  ${Math.round(rate).toString().padStart(7)} tasks/s  parent ${parent.toFixed(1)} MiB  workers ${workers.map((w) => `${w.toFixed(1)} MiB`).join(', ')}  (settled ${settled}, failed ${failed})`);
};
const timer = setInterval(report, every);

await new Promise((resolve) => {
  const pump = () => {
    while (submitted - settled < window && Date.now() < deadline) {
      const i = submitted++;
      pool.run(taskFor(i)).then(
        () => done(),
        () => { failed++; done(); },
      );
    }
    if (submitted === settled && Date.now() >= deadline) resolve();
  };
  const done = () => {
    settled++;
    if (settled % 256 === 0 || submitted - settled < window / 2) pump();
    if (submitted === settled && Date.now() >= deadline) resolve();
  };
  pump();
});
clearInterval(timer);
report();
const stats = pool.stats();
await pool.stop();

/** Least-squares slope of (t, y) in MiB per minute over the second half of the samples. */
const slope = (ys) => {
  const pts = samples.map((s, i) => [s.t, ys[i]]).slice(Math.floor(samples.length / 2)).filter(([, y]) => Number.isFinite(y));
  if (pts.length < 2) return NaN;
  const n = pts.length;
  const mt = pts.reduce((a, [t]) => a + t, 0) / n;
  const my = pts.reduce((a, [, y]) => a + y, 0) / n;
  const num = pts.reduce((a, [t, y]) => a + (t - mt) * (y - my), 0);
  const den = pts.reduce((a, [t]) => a + (t - mt) ** 2, 0);
  return (num / den) * 60;
};
console.log(`\n${settled} tasks in ${((Date.now() - started) / 1000).toFixed(0)} s; ${failed} failed on purpose (1 in 10 throws); pool counted done ${stats.done}, failed ${stats.failed}, restarts ${stats.restarts}`);
console.log(`RSS slope over the second half: parent ${slope(samples.map((s) => s.parent)).toFixed(2)} MiB/min; ` +
  samples[0].workers.map((_, w) => `worker ${w} ${slope(samples.map((s) => s.workers[w])).toFixed(2)} MiB/min`).join('; '));
if (stats.done + stats.failed !== submitted) {
  console.error(`MISSING TASKS: submitted ${submitted}, the pool settled ${stats.done + stats.failed}`);
  process.exitCode = 1;
}
