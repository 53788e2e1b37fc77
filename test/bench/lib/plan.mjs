/**
 * What the benchmark runs: the systems (one entry each; a looppool variant with extra Pool
 * options is one more entry), the workloads' parameters, and the order of the runs.
 */

/** The workloads of the main table, in the order they run. */
export const MAIN_WORKLOADS = ['A', 'B', 'C', 'D', 'E', 'F'];
/**
 * Main-table workloads run only when named (`--workloads G`): G (CPU tasks of mixed length, a
 * batch at once) would add about 5 minutes to the default set. G runs wherever B does (the same
 * CPU handler, and `inline` as its base).
 */
export const EXTRA_WORKLOADS = ['G'];
const runsOn = (system, w) => system.workloads.includes(w === 'G' ? 'B' : w);

/**
 * Every system measured. Fields:
 * - `id`: the name in the tables; `adapter`: the module in `systems/`; `config`: merged into
 *   the adapter's config (for looppool, `options` are extra Pool options);
 * - `kind`: `looppool`, `process` (a process-based peer: the goals compare against the best of
 *   these), `threads`, or `baseline`;
 * - `workloads`: where it runs; `keepsEnv: false`: its children do not get the parent's
 *   environment (goal E compares only with peers that keep it);
 * - `optional`: skip it quietly when this build's Pool rejects its options (`Unknown option`);
 * - `statsdSink`: the run opens a UDP sink on 127.0.0.1 and puts its port where the config
 *   says `'$STATSD_PORT'`;
 * - `nodeArgs`: extra flags for the run's own `node` process (its workers inherit them).
 */
export const SYSTEMS = [
  { id: 'looppool', adapter: 'looppool', kind: 'looppool', workloads: [...MAIN_WORKLOADS, 'mem'] },
  { id: 'looppool-ts', adapter: 'looppool', kind: 'looppool', config: { worker: 'ts' }, workloads: ['E'] },
  // The worker as a plain function, as every peer's worker is: no `import 'looppool/worker'`
  // (whose resolution through package.json `exports` costs a fresh process a few ms of CPU).
  { id: 'looppool-fn', adapter: 'looppool', kind: 'looppool', config: { worker: 'fn' }, workloads: ['E'] },
  // Metrics overhead (issue 4's ResourceReporter): the same pool reporting to a statsd sink on
  // 127.0.0.1, at the default interval (10 s: the always-on cost) and every 100 ms (an upper
  // bound). Each runs as soon as the Pool accepts these options; until then it is skipped.
  {
    id: 'looppool+metrics',
    adapter: 'looppool',
    kind: 'looppool',
    config: { options: { statsd: { host: '127.0.0.1', port: '$STATSD_PORT' } } },
    workloads: ['A', 'C'],
    optional: true,
    statsdSink: true,
  },
  {
    id: 'looppool+metrics@100ms',
    adapter: 'looppool',
    kind: 'looppool',
    config: { options: { statsd: { host: '127.0.0.1', port: '$STATSD_PORT' }, reportInterval: 100 } },
    workloads: ['A', 'C'],
    optional: true,
    statsdSink: true,
  },
  // A tuning, not a default: the parent (and, inheriting its flags, the workers) started with a
  // young generation of 16 MiB from the start (`node --min-semi-space-size=16`). See
  // manual/performance.md, "Sizing a pool".
  { id: 'looppool@semi16', adapter: 'looppool', kind: 'looppool', nodeArgs: ['--min-semi-space-size=16'], workloads: ['A', 'C'] },
  // Every task with a timeout (`taskTimeout`, far above any task here): what the timeout's
  // bookkeeping costs small tasks.
  { id: 'looppool+timeout', adapter: 'looppool', kind: 'looppool', config: { options: { taskTimeout: 60_000 } }, workloads: ['A'] },
  { id: 'raw-pipe', adapter: 'raw-pipe', kind: 'baseline', workloads: MAIN_WORKLOADS },
  { id: 'raw-send', adapter: 'raw-send', kind: 'baseline', workloads: MAIN_WORKLOADS },
  // The same with `serialization: 'advanced'` (V8's structured clone instead of JSON): issue 6's
  // aim for F. Only where the serialization matters (A's tiny tasks, D's round trips, F's 64 KiB
  // strings), to keep the default set under 15 minutes.
  { id: 'raw-send-advanced', adapter: 'raw-send', kind: 'baseline', config: { serialization: 'advanced' }, workloads: ['A', 'D', 'F'] },
  { id: 'piscina', adapter: 'piscina', kind: 'threads', workloads: [...MAIN_WORKLOADS, 'mem'] },
  { id: 'poolifier', adapter: 'poolifier', kind: 'process', workloads: [...MAIN_WORKLOADS, 'mem'] },
  { id: 'tinypool', adapter: 'tinypool', kind: 'process', keepsEnv: false, workloads: [...MAIN_WORKLOADS, 'mem'] },
  { id: 'tinypool+env', adapter: 'tinypool', kind: 'process', config: { inheritEnv: true }, workloads: ['E'] },
  // One task at a time per process and no option for more: C (1,000 per worker) would take 200 s.
  { id: 'workerpool', adapter: 'workerpool', kind: 'process', workloads: ['A', 'B', 'D', 'E', 'F', 'mem'] },
  { id: 'inline', adapter: 'inline', kind: 'baseline', workloads: ['B'] },
];

/**
 * Workloads that run fewer repeats than the others (a fraction of `--repeats`, at least 1):
 * F moves 1.3 GB each way per run and would take a third of the time budget on its own; D on one
 * CPU (`pinned`) is reported, not a goal, and its runs spread less than the unpinned ones.
 */
export const REPEAT_FRACTION = { F: 0.6, pinned: 0.6 };
export const repeatsOf = (key, repeats) => Math.max(1, Math.ceil(repeats * (REPEAT_FRACTION[key] ?? 1)));

/**
 * Back-to-back pairs of looppool without and with metrics on A and C (section `metrics`): the
 * overhead is the median of the pairs' ratios, which the machine's drift from minute to minute
 * moves far less than a ratio of two medians taken over the whole run.
 */
export const METRICS_PAIRS = { quick: 2, full: 10 };

/** Workers and per-worker concurrency of every main run. */
export const BASE_CONFIG = { workers: 2, concurrency: 1000 };

/** The scaling grid (looppool only). */
export const SCALING = { workers: [1, 2, 4], concurrency: [1, 10, 100, 1000], waves: 10 };

/** Parameters of each workload; `--quick` runs fewer and smaller. `iterations`: 2 ms of CPU here. */
export function workloadParams(quick, iterations) {
  return {
    // A and F: a run stops starting tasks after `maxMs` (A's warm-up after `warmMs`), which only
    // the slowest systems reach (workerpool's A took 20 s a run, the peers' F up to 18 s; a 3 s
    // A still holds 20,000 of workerpool's tasks on the slowest machine seen): the full set then
    // finishes in under 15 minutes on a 2-core machine, even one whose IPC is 3 times slower.
    A: { n: quick ? 50_000 : 200_000, window: 1000, maxMs: 3000, warmMs: 1000 },
    B: { n: quick ? 500 : 2000, window: 1000, iterations },
    // 40 tasks of 10 to 100 ms (5 and 50 times B's 2 ms), 5 batches (3 with --quick).
    G: { batches: quick ? 3 : 5, size: 40, minIterations: 5 * iterations, maxIterations: 50 * iterations, seed: 1 },
    C: { n: 20_000, window: 2000, ms: 20 },
    // Warmed by 3,000 round trips: the first couple of thousand are the runtime compiling (cold p99).
    D: { n: quick ? 1000 : 5000, warm: quick ? 1000 : 3000 },
    E: { idleMs: quick ? 300 : 500 },
    F: { n: quick ? 2000 : 20_000, window: 128, bytes: 64 * 1024, maxMs: 4000 },
    // looppool queues 1M tasks; the peers 100k: their stop() takes time quadratic in the queue
    // length (tinypool, workerpool: 6 s for 100k, minutes for 1M), and bytes per task do not
    // depend on it.
    mem: { n: quick ? 200_000 : 1_000_000 },
    memPeers: { n: quick ? 20_000 : 100_000 },
    scalingA: { n: quick ? 10_000 : 30_000, window: 1000, maxMs: 2000, warmMs: 1000 },
  };
}

/** Rotate `list` by `k`, so no system always runs first. */
function rotate(list, k) {
  const r = k % list.length;
  return [...list.slice(r), ...list.slice(0, r)];
}

/**
 * The ordered list of runs. Each: `{ section, workload, system, config, params, repeat, label }`.
 * Main workloads: for each repeat, for each workload, every system once (rotated order).
 * `pinnedD`: also run D with every process on one CPU (section `pinned`; needs taskset).
 */
export function buildPlan({ quick, repeats, systems, workloads, iterations, pinnedD = false }) {
  const p = workloadParams(quick, iterations);
  const chosen = SYSTEMS.filter((s) => systems === undefined || systems.includes(s.id));
  const jobs = [];
  const job = (section, workload, system, config, params, repeat, label, extra = {}) =>
    jobs.push({ section, workload, system, config, params, repeat, label, ...extra });

  for (let r = 0; r < repeats; r++) {
    for (const w of [...MAIN_WORKLOADS, ...EXTRA_WORKLOADS]) {
      if (!workloads.includes(w)) continue;
      if (r >= repeatsOf(w, repeats)) continue;
      const here = chosen.filter((s) => runsOn(s, w));
      for (const s of rotate(here, r)) job('main', w, s, { ...BASE_CONFIG, ...s.config }, p[w], r, w);
    }
  }

  const looppool = SYSTEMS[0];
  // Scaling is looppool's own grid: run when looppool is among the chosen systems.
  if (workloads.includes('scaling') && chosen.includes(looppool)) {
    const scalingRepeats = quick ? 1 : 2;
    for (let r = 0; r < scalingRepeats; r++) {
      for (const workers of SCALING.workers) {
        for (const concurrency of SCALING.concurrency) {
          const config = { workers, concurrency };
          const label = `${workers}x${concurrency}`;
          job('scalingA', 'A', looppool, config, p.scalingA, r, label);
          const window = workers * concurrency;
          const n = SCALING.waves * window; // 10 waves in every cell: 40,000 tasks at 4 x 1,000 (it had 5, and half the ideal)
          job('scalingC', 'C', looppool, config, { n, window, ms: 20 }, r, label);
        }
      }
    }
  }

  // D again with everything on one CPU: on a VM with 2 vCPUs a round trip between two
  // processes costs ~25 µs when the kernel keeps them on one CPU and ~100 µs when it wakes the
  // other, idle vCPU; which of the two a run gets is luck. Pinned, every system pays the same
  // scheduling and the table shows its own path. Linux only (taskset).
  if (workloads.includes('D') && pinnedD) {
    for (let r = 0; r < repeatsOf('pinned', repeats); r++) {
      const here = chosen.filter((s) => s.workloads.includes('D'));
      for (const s of rotate(here, r)) job('pinned', 'D', s, { ...BASE_CONFIG, ...s.config }, p.D, r, 'D', { pinned: true });
    }
  }

  const metrics = SYSTEMS.find((s) => s.id === 'looppool+metrics');
  if (workloads.includes('metrics') && (systems === undefined || systems.includes(metrics.id))) {
    for (let r = 0; r < (quick ? METRICS_PAIRS.quick : METRICS_PAIRS.full); r++) {
      for (const w of ['A', 'C']) {
        const pair = r % 2 === 0 ? [looppool, metrics] : [metrics, looppool];
        for (const s of pair) job('metrics', w, s, { ...BASE_CONFIG, ...s.config }, p[w], r, w);
      }
    }
  }

  if (workloads.includes('mem')) {
    // One repeat: the heap delta over many tasks hardly varies from run to run.
    for (const s of chosen.filter((x) => x.workloads.includes('mem'))) {
      job('mem', 'mem', s, { workers: 2, concurrency: 1, queue: 1_000_000_000 }, s.kind === 'looppool' ? p.mem : p.memPeers, 0, 'mem');
      // The cost of a submit falls as V8 compiles the path: compared with the peers' at their n.
      if (s.kind === 'looppool') job('mem', 'mem', s, { workers: 2, concurrency: 1, queue: 1_000_000_000 }, p.memPeers, 0, 'mem-peers-n');
    }
  }
  return jobs;
}
