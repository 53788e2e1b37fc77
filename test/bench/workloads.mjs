/**
 * The workloads of issue 6, each run inside a fresh process against one system. A workload gets
 * the system's `create(config)` and its parameters, and returns its metrics plus `errors`: the
 * number of wrong or failed answers (a run with errors does not count).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { spin } from './handler.mjs';
import { descendants, rssBytes } from './lib/procs.mjs';
import { percentile } from './lib/stats.mjs';

const now = () => performance.now();

/**
 * Run up to `n` tasks keeping `window` in flight: `window` lanes, each submitting its next task
 * when its previous answer arrives. `check(i, result)` says whether answer `i` is right. Once
 * `until` (a `performance.now()` time) has passed, the lanes start no more tasks: a slow
 * system's run is cut to a fixed time and its rate taken over the tasks it finished. The clock is
 * read once every 256 tasks, so the check costs the fastest systems nothing measurable.
 * `onLastStarted()` is called when no more tasks will start (it may be called more than once).
 * Returns the wrong or failed answers and the number of tasks run.
 */
export async function windowed(run, n, window, makeTask, check, until = Infinity, onLastStarted = () => {}) {
  let next = 0;
  let errors = 0;
  let open = true;
  const lane = async () => {
    while (open && next < n) {
      const i = next++;
      if ((i & 255) === 255 && now() >= until) open = false;
      if (!open || next === n) onLastStarted();
      try {
        if (!check(i, await run(makeTask(i)))) errors++;
      } catch {
        errors++;
      }
    }
  };
  const lanes = [];
  for (let k = 0; k < Math.min(window, n); k++) lanes.push(lane());
  await Promise.all(lanes);
  return { errors, done: next };
}

const echo = (i) => i;
const same = (i, r) => r === i;

/**
 * Create the system, wait until it is up, warm it with `warm` echo tasks through a window of
 * `warmWindow` (or as many as finish in `warmMs`), run `body`, stop it.
 */
async function withSystem(create, config, body, warm = 2000, warmWindow = 200, warmMs = Infinity) {
  const created = await create(config);
  let stopped;
  const sys = { run: created.run, stop: (options) => (stopped ??= created.stop(options)) };
  try {
    await created.ready();
    const warmed = await windowed(sys.run, warm, Math.min(warm, warmWindow), (i) => -1 - i, (i, r) => r === -1 - i, now() + warmMs);
    const result = await body(sys);
    if (warmed.errors > 0) result.errors += warmed.errors;
    return result;
  } finally {
    await sys.stop();
  }
}

/**
 * A: many tiny echo tasks through a window, or as many as finish in `maxMs` (`warmMs` for the
 * warm-up): the slowest systems would otherwise take 20 s a run. Metric: tasks per second.
 */
export function A(create, config, { n, window, warm = Math.min(50_000, n), maxMs = Infinity, warmMs = Infinity }) {
  return withSystem(create, config, async (sys) => {
    const t0 = now();
    const { errors, done } = await windowed(sys.run, n, window, echo, same, t0 + maxMs);
    const ms = now() - t0;
    return { errors, ms, tasks: done, tasksPerSec: (done / ms) * 1000 };
    // Warmed through the same window as measured: a steady state, not the runtime's first
    // minutes with a new load (JIT and heap sizing; measured on looppool with metrics on).
  }, warm, window, warmMs);
}

/** B: CPU tasks (`iterations` xorshift rounds each). Metric: elapsed ms (speed-up vs inline). */
export function B(create, config, { n, window, iterations }) {
  return withSystem(create, config, async (sys) => {
    const results = new Array(n);
    const t0 = now();
    let { errors } = await windowed(sys.run, n, window, (i) => ({ c: iterations, v: i + 1 }), (i, r) => {
      results[i] = r;
      return typeof r === 'number';
    });
    const ms = now() - t0;
    // Every answer's type, and the value of one in 97 from a random offset (all would cost seconds of the parent's CPU per run), after timing.
    for (let i = Math.floor(Math.random() * 97); i < n; i += 97) if (results[i] !== spin(iterations, i + 1)) errors++;
    return { errors, ms };
  }, 200);
}

/**
 * G: CPU tasks of mixed length, a batch at once: `batches` batches one after another, each of
 * `size` tasks of `minIterations`..`maxIterations` xorshift rounds (the same lengths on every
 * system: drawn from `seed`), all submitted together. Metric: elapsed ms (speed-up vs inline).
 * A pool whose workers take their shares of a batch up front ends each batch when the worker
 * that drew the longest tasks does.
 */
export function G(create, config, { batches, size, minIterations, maxIterations, seed }) {
  return withSystem(create, config, async (sys) => {
    let errors = 0;
    let ms = 0;
    for (let b = 0; b < batches; b++) {
      const costs = Array.from({ length: size }, (_, i) => minIterations + ((spin(4, seed + b * size + i) >>> 0) % (maxIterations - minIterations)));
      const t0 = now();
      const results = await Promise.all(costs.map((c, i) => sys.run({ c, v: i + 1 }).catch(() => undefined)));
      ms += now() - t0;
      errors += results.filter((r) => typeof r !== 'number').length;
      for (let i = Math.floor(Math.random() * 13); i < size; i += 13) if (results[i] !== spin(costs[i], i + 1)) errors++; // a sample, after timing
    }
    return { errors, ms };
  }, 200);
}

/** C: tasks that await a timer of `ms` ms, `window` at once. Metric: elapsed ms vs the ideal. */
export function C(create, config, { n, window, ms: timer }) {
  return withSystem(create, config, async (sys) => {
    const t0 = now();
    const { errors } = await windowed(sys.run, n, window, (i) => ({ s: timer, v: i }), same);
    const ms = now() - t0;
    return { errors, ms, idealMs: Math.ceil(n / window) * timer };
  }, 200);
}

/**
 * D: sequential round trips (one task in flight). Metrics: p50 and p99 in microseconds of `n`
 * round trips after `warm` ones, and p99 of those first `warm` (cold: the runtime still compiles
 * the hot path, and a compile or a young-generation GC on the way is a stall of 1–10 ms).
 */
export function D(create, config, { n, warm }) {
  return withSystem(create, config, async (sys) => {
    let errors = 0;
    const trips = async (count) => {
      const lat = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const t = now();
        const r = await sys.run(i);
        lat[i] = now() - t;
        if (r !== i) errors++;
      }
      return lat;
    };
    const cold = await trips(warm);
    const lat = await trips(n);
    return { errors, p50us: percentile(lat, 50) * 1000, p99us: percentile(lat, 99) * 1000, coldP99us: percentile(cold, 99) * 1000 };
  }, 0);
}

/**
 * E: construct the pool, time until the first result, then warm every worker, idle `idleMs`
 * and read the resident memory of this process plus all its descendants.
 */
export async function E(create, config, { idleMs }) {
  const t0 = now();
  const sys = await create(config);
  try {
    const first = await sys.run(7);
    const startMs = now() - t0;
    let errors = first === 7 ? 0 : 1;
    errors += (await windowed(sys.run, 200, 100, echo, same)).errors;
    await sleep(idleMs);
    const children = descendants(process.pid);
    const rss = children.reduce((sum, pid) => sum + rssBytes(pid), rssBytes(process.pid));
    return { errors, startMs, rssMiB: rss / 2 ** 20, processes: 1 + children.length };
  } finally {
    await sys.stop();
  }
}

/**
 * F: `n` echo tasks of `bytes`-long strings, `window` at once, or as many as finish in `maxMs`;
 * meanwhile one small echo task at a time, whose round trips measure how much the big ones hold
 * up the channel.
 */
export function F(create, config, { n, window, bytes, maxMs = Infinity }) {
  return withSystem(create, config, async (sys) => {
    const filler = 'x'.repeat(bytes);
    const payload = (i) => `${String(i).padStart(12, '0')}${filler.slice(12)}`;
    let bigDone = false;
    let errors = 0;
    const lat = [];
    const probe = (async () => {
      for (let k = 0; !bigDone; k++) {
        const t = now();
        const r = await sys.run(k);
        lat.push(now() - t);
        if (r !== k) errors++;
      }
    })();
    const t0 = now();
    // The probe measures while big tasks are started: not while the last window drains, an idle channel.
    const big = await windowed(sys.run, n, window, payload, (i, r) => r === payload(i), t0 + maxMs, () => (bigDone = true));
    const ms = now() - t0;
    errors += big.errors;
    bigDone = true;
    await probe;
    return {
      errors,
      ms,
      tasks: big.done,
      tasksPerSec: (big.done / ms) * 1000,
      mbPerSec: (big.done * bytes) / 1e6 / (ms / 1000),
      smallP50ms: percentile(lat, 50),
      smallP99ms: percentile(lat, 99),
      smallCount: lat.length,
    };
  }, 200);
}

/**
 * Memory per queued task: queue `n` tasks that never finish (one runs per worker, the rest wait
 * in the parent) and compare the parent's heap before and after, both after full GCs. Then stop
 * without draining and count the tasks whose promise settled (was rejected) within 3 s.
 */
export function mem(create, config, { n }) {
  return withSystem(create, config, async (sys) => {
    const gc = globalThis.gc;
    if (typeof gc !== 'function') throw new Error('run with --expose-gc');
    const promises = new Array(n).fill(null);
    gc();
    gc();
    const h0 = process.memoryUsage().heapUsed;
    const t0 = now();
    for (let i = 0; i < n; i++) promises[i] = sys.run({ h: i });
    const queueMs = now() - t0;
    gc();
    gc();
    const h1 = process.memoryUsage().heapUsed;
    let settled = 0;
    for (const p of promises) Promise.resolve(p).then(() => settled++, () => settled++);
    await sleep(0);
    // None of these tasks ends before the stop: one settled already was refused (a full queue), and would pass for a small footprint.
    const refused = settled;
    const t1 = now();
    await sys.stop({ abandon: true });
    const stopMs = now() - t1;
    const deadline = Date.now() + 3000;
    while (settled < n && Date.now() < deadline) await sleep(50);
    return { errors: refused, n, bytesPerTask: (h1 - h0) / n, usPerQueue: (queueMs * 1000) / n, stopMs, settledPct: (100 * settled) / n };
  }, 200);
}

export const WORKLOADS = { A, B, C, D, E, F, G, mem };
