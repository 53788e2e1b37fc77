/**
 * Turns the collected runs into Markdown: one table per workload (median with min–max over the
 * valid runs), the scaling grid, memory per queued task, the ratios to looppool, and the goal
 * checks of issue 6. A run counts only when it finished with no wrong answer.
 */
import { SCALING, SYSTEMS } from './plan.mjs';
import { median } from './stats.mjs';

const kindOf = new Map(SYSTEMS.map((s) => [s.id, s]));

/** Runs that count: finished, every answer right. */
export function isValid(run) {
  const r = run.result;
  return r !== undefined && !r.error && !r.skipped && !r.timeout && r.errors === 0;
}

/** Why a run does not count, or '' when it does. */
export function whyInvalid(run) {
  const r = run.result;
  if (!r) return 'no result';
  if (r.skipped) return 'skipped';
  if (r.timeout) return 'timeout';
  if (r.error) return 'error';
  if (r.errors !== 0) return `${r.errors} wrong answers`;
  return '';
}

/** Index runs: `section → label → system id → runs[]`. */
export function group(runs) {
  const out = new Map();
  for (const run of runs) {
    const bySection = out.get(run.section) ?? out.set(run.section, new Map()).get(run.section);
    const byLabel = bySection.get(run.label) ?? bySection.set(run.label, new Map()).get(run.label);
    const list = byLabel.get(run.system) ?? byLabel.set(run.system, []).get(run.system);
    list.push(run);
  }
  return out;
}

/** The workloads of the metrics overhead: metric, and whether higher is better. */
const METRIC_WORKLOADS = [['A', 'tasksPerSec', true], ['C', 'ms', false]];

/** The cost of metrics in each pair of back-to-back runs whose two runs are valid (0.05 = 5% slower with them). */
function pairedCosts(bySystem, metric, higher) {
  const off = new Map((bySystem?.get('looppool') ?? []).filter(isValid).map((r) => [r.repeat, r.result[metric]]));
  const costs = [];
  for (const run of (bySystem?.get('looppool+metrics') ?? []).filter(isValid)) {
    const base = off.get(run.repeat);
    const on = run.result[metric];
    if (base !== undefined) costs.push(higher ? base / on - 1 : on / base - 1);
  }
  return costs;
}

const percent = (v) => `${(v * 100).toFixed(1)}%`;

function stat(runs, metric) {
  const values = (runs ?? []).filter(isValid).map((r) => r.result[metric]).filter((v) => Number.isFinite(v));
  if (values.length === 0) return undefined;
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

const si = (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e4 ? `${Math.round(v / 1e3)}k` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const fmt = (s, unit = '') => (!s ? 'n/a' : s.min === s.max ? `${si(s.median)}${unit}` : `${si(s.median)}${unit} (${si(s.min)}–${si(s.max)})`);
const ratio = (v) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a');

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function validCell(runs) {
  const all = runs ?? [];
  const bad = all.filter((r) => !isValid(r));
  const notes = [...new Set(bad.map(whyInvalid))].join(', ');
  const leaked = all.reduce((sum, r) => sum + (r.leaked ?? 0), 0);
  return `${all.length - bad.length}/${all.length}${notes ? ` (${notes})` : ''}${leaked ? `, ${leaked} processes left behind` : ''}`;
}

/** Everything the report and the goal checks need, computed once. */
export function analyse(runs) {
  const g = group(runs);
  const main = (w) => g.get('main')?.get(w) ?? new Map();
  const systemsOf = (w) => [...main(w).keys()];
  const m = (w, id, metric) => stat(main(w).get(id), metric);
  const inlineB = m('B', 'inline', 'ms');
  const paramsOf = (w) => main(w).values().next().value?.[0]?.params ?? {};
  return { g, main, systemsOf, m, inlineB, paramsOf };
}

/** A table of elapsed ms and the speed-up over `inline` (workloads B and G); `extra` adds columns. */
function speedUpTable(a, w, extra = { head: [], cells: () => [] }) {
  const base = a.m(w, 'inline', 'ms');
  return table(
    ['system', 'ms median (min–max)', 'speed-up over inline', ...extra.head, 'valid runs'],
    a.systemsOf(w).map((id) => {
      const s = a.m(w, id, 'ms');
      return [
        id, fmt(s, ' ms'), s && base ? `${ratio(base.median / s.median)} (${ratio(base.median / s.max)}–${ratio(base.median / s.min)})` : 'n/a',
        ...extra.cells(id), validCell(a.main(w).get(id)),
      ];
    }),
  );
}

/** The Markdown report. */
export function report(runs) {
  const a = analyse(runs);
  const { main, systemsOf, m, inlineB, paramsOf } = a;
  const count = (v) => (v === undefined ? '?' : v.toLocaleString('en-US'));
  /** How a run with a time limit (`maxMs`) is cut, for a section's title. */
  const cutAfter = (params) => (params.maxMs === undefined ? '' : `, or as many as finish in ${params.maxMs / 1000} s`);
  const out = [];
  const lp = (w, metric) => m(w, 'looppool', metric)?.median;
  const section = (title, body) => out.push(`### ${title}\n\n${body}\n`);

  if (main('A').size) {
    section(`A. ${count(paramsOf('A').n)} tiny echo tasks, window ${count(paramsOf('A').window)}${cutAfter(paramsOf('A'))} (tasks/s, higher is better)`, table(
      ['system', 'tasks/s median (min–max)', 'looppool ÷ system', 'valid runs'],
      systemsOf('A').map((id) => [id, fmt(m('A', id, 'tasksPerSec')), ratio(lp('A', 'tasksPerSec') / m('A', id, 'tasksPerSec')?.median), validCell(main('A').get(id))]),
    ));
  }
  if (main('B').size) {
    // B needs both cores to itself: also show the runs that started on a quiet machine.
    const quiet = (id) => stat(main('B').get(id)?.filter((r) => r.busyBefore !== undefined && r.busyBefore <= 0.3), 'ms');
    const quietInline = quiet('inline');
    section(`B. ${count(paramsOf('B').n)} CPU tasks of about 2 ms (elapsed ms; speed-up over inline, 2.00× is ideal on 2 workers)`, speedUpTable(a, 'B', {
      head: ['speed-up, runs started on a quiet machine only'],
      cells: (id) => {
        const q = quiet(id);
        return [q && quietInline ? `${ratio(quietInline.median / q.median)} (${q.n} runs)` : 'n/a'];
      },
    }));
  }
  if (main('G').size) {
    const p = paramsOf('G');
    const ms = (iterations) => Math.round((iterations / p.minIterations) * 10);
    section(`G. ${p.batches} batches of ${p.size} CPU tasks of ${ms(p.minIterations)}–${ms(p.maxIterations)} ms, each batch submitted at once (elapsed ms; speed-up over inline, 2.00× is ideal on 2 workers)`, speedUpTable(a, 'G'));
  }
  if (main('C').size) {
    const ideal = main('C').values().next().value?.find(isValid)?.result.idealMs;
    section(`C. ${count(paramsOf('C').n)} tasks awaiting a ${paramsOf('C').ms} ms timer, window ${count(paramsOf('C').window)} (elapsed ms; ideal ${ideal ?? '?'} ms)`, table(
      ['system', 'ms median (min–max)', '× ideal', 'system ÷ looppool', 'valid runs'],
      systemsOf('C').map((id) => {
        const s = m('C', id, 'ms');
        return [id, fmt(s, ' ms'), s && ideal ? ratio(s.median / ideal) : 'n/a', ratio(s?.median / lp('C', 'ms')), validCell(main('C').get(id))];
      }),
    ));
  }
  if (main('D').size) {
    section(`D. ${count(paramsOf('D').n)} sequential round trips after ${count(paramsOf('D').warm)} (µs, lower is better; cold: the first ${count(paramsOf('D').warm)})`, table(
      ['system', 'p50 µs', 'p99 µs', 'cold p99 µs', 'valid runs'],
      systemsOf('D').map((id) => [id, fmt(m('D', id, 'p50us')), fmt(m('D', id, 'p99us')), fmt(m('D', id, 'coldP99us')), validCell(main('D').get(id))]),
    ));
  }
  const pinned = a.g.get('pinned')?.get('D');
  if (pinned) {
    section('D on one CPU (the run and all its processes pinned to CPU 0 with taskset: no wake-up of an idle vCPU, every system pays the same scheduling)', table(
      ['system', 'p50 µs', 'p99 µs', 'cold p99 µs', 'valid runs'],
      [...pinned.keys()].map((id) => [id, fmt(stat(pinned.get(id), 'p50us')), fmt(stat(pinned.get(id), 'p99us')), fmt(stat(pinned.get(id), 'coldP99us')), validCell(pinned.get(id))]),
    ));
  }
  if (main('E').size) {
    section('E. Construct → first result, and idle RSS of the parent plus its children', table(
      ['system', 'first result ms', 'idle RSS MiB', 'processes', 'children get the parent\'s env', 'valid runs'],
      systemsOf('E').map((id) => [
        id, fmt(m('E', id, 'startMs')), fmt(m('E', id, 'rssMiB')), processCount(m('E', id, 'processes')),
        kindOf.get(id)?.keepsEnv === false ? 'no' : 'yes', validCell(main('E').get(id)),
      ]),
    ));
  }
  if (main('F').size) {
    section(`F. ${count(paramsOf('F').n)} echo tasks of ${(paramsOf('F').bytes ?? 0) / 1024} KiB strings, window ${paramsOf('F').window}${cutAfter(paramsOf('F'))}, with one small task at a time alongside`, table(
      ['system', 'tasks/s', 'MB/s each way', 'small task p50 ms', 'small task p99 ms', 'valid runs'],
      systemsOf('F').map((id) => [id, fmt(m('F', id, 'tasksPerSec')), fmt(m('F', id, 'mbPerSec')), fmt(m('F', id, 'smallP50ms')), fmt(m('F', id, 'smallP99ms')), validCell(main('F').get(id))]),
    ));
  }

  const scalingA = a.g.get('scalingA');
  const scalingC = a.g.get('scalingC');
  if (scalingA || scalingC) {
    const grid = (sec, cell) => table(
      ['workers \\ concurrency per worker', ...SCALING.concurrency.map(String)],
      SCALING.workers.map((w) => [String(w), ...SCALING.concurrency.map((c) => cell(sec?.get(`${w}x${c}`)?.get('looppool')))]),
    );
    if (scalingA) section('Scaling, workload A (looppool tasks/s; window 1,000)', grid(scalingA, (r) => fmt(stat(r, 'tasksPerSec'))));
    if (scalingC) {
      section('Scaling, workload C (looppool: elapsed ms ÷ ideal; window = workers × concurrency, 10 waves of 20 ms)', grid(scalingC, (r) => {
        const s = stat(r, 'ms');
        const ideal = r?.find(isValid)?.result.idealMs;
        return s && ideal ? `${ratio(s.median / ideal)} (${Math.round(s.median)} ms)` : 'n/a';
      }));
    }
  }

  const pairs = a.g.get('metrics');
  if (pairs) {
    section('Metrics overhead, paired runs (looppool without, then with statsd metrics at the default interval, back to back; cost = how much slower with them)', table(
      ['workload', 'median cost', 'cost of each pair', 'pairs'],
      METRIC_WORKLOADS.filter(([w]) => pairs.has(w)).map(([w, metric, higher]) => {
        const costs = pairedCosts(pairs.get(w), metric, higher);
        return [w, costs.length ? percent(median(costs)) : 'n/a', costs.map(percent).join(', '), String(costs.length)];
      }),
    ));
  }

  const memRuns = a.g.get('mem')?.get('mem');
  if (memRuns) {
    section('Memory per task queued in the parent (tasks that never finish; 2 workers × concurrency 1)', table(
      ['system', 'tasks queued', 'bytes per queued task', 'µs per submit', 'stop() with the queue full, ms', 'promises settled 3 s after stop', 'valid runs'],
      [...[...memRuns.keys()].map((id) => [id, memRuns.get(id)]), ...[...(a.g.get('mem')?.get('mem-peers-n') ?? [])].map(([id, runs]) => [`${id}, as many as the peers`, runs])].map(([id, runs]) => {
        const s = (metric) => stat(runs, metric);
        return [id, fmt(s('n')), fmt(s('bytesPerTask')), fmt(s('usPerQueue')), fmt(s('stopMs')), s('settledPct') ? `${s('settledPct').median.toFixed(0)}%` : 'n/a', validCell(runs)];
      }),
    ) + "\nµs per submit and stop() are compared at the same number of tasks: the row 'as many as the peers' (the cost of a submit falls as V8 compiles the path).\n");
  }

  out.push(ratios(a), goals(a));
  return out.join('\n');
}

/** The table of ratios to looppool: above 1 means looppool is ahead by that factor. */
function ratios({ main, systemsOf, m }) {
  const cols = [
    ['A tasks/s', 'A', 'tasksPerSec', true],
    ['B speed-up', 'B', 'ms', false],
    ['C ms', 'C', 'ms', false],
    ['D p50', 'D', 'p50us', false],
    ['D p99', 'D', 'p99us', false],
    ['E start', 'E', 'startMs', false],
    ['E RSS', 'E', 'rssMiB', false],
    ['F tasks/s', 'F', 'tasksPerSec', true],
    ['F small p99', 'F', 'smallP99ms', false],
  ];
  const ids = [...new Set(cols.flatMap(([, w]) => systemsOf(w)))].filter((id) => id !== 'looppool' && id !== 'inline');
  const rows = ids.map((id) => [id, ...cols.map(([, w, metric, higher]) => {
    const mine = m(w, 'looppool', metric)?.median;
    const theirs = m(w, id, metric)?.median;
    if (main(w).has(id) && theirs === undefined) return 'no valid run'; // ran, and every run failed: not "not run"
    if (mine === undefined || theirs === undefined) return '–';
    return ratio(higher ? mine / theirs : theirs / mine);
  })]);
  return `### Ratios to looppool (above 1: looppool is ahead by that factor; below 1: behind)\n\n${table(['system', ...cols.map(([c]) => c)], rows)}\n`;
}

/** How many processes a system's E runs had: min–max when they differ (a median of 3.5 processes means nothing). */
function processCount(s) {
  if (s === undefined) return 'n/a';
  return s.min === s.max ? String(s.min) : `${s.min}–${s.max}`;
}

/** The goal checks of issue 6, on medians. */
function goals({ g, main, systemsOf, m, inlineB }) {
  const lp = (w, metric) => m(w, 'looppool', metric)?.median;
  const peers = (w, filter = () => true) => systemsOf(w).filter((id) => kindOf.get(id)?.kind === 'process' && filter(kindOf.get(id)));
  // A peer that ran and has no valid run is not measured: a goal against "the best peer" is then
  // n/a, not judged against the next one (a peer whose every answer was wrong would drop out).
  const unmeasured = [];
  const best = (w, metric, higher, filter) => {
    let bestId;
    let bestValue;
    for (const id of peers(w, filter)) {
      const v = m(w, id, metric)?.median;
      if (v === undefined) {
        unmeasured.push(id);
        continue;
      }
      if (bestValue === undefined || (higher ? v > bestValue : v < bestValue)) [bestId, bestValue] = [id, v];
    }
    return bestId === undefined ? undefined : { id: bestId, value: bestValue };
  };
  const rows = [];
  const check = (goal, ok, detail) => {
    const missing = [...new Set(unmeasured.splice(0))];
    const verdict = missing.length > 0 || ok === undefined ? 'n/a' : ok ? 'PASS' : 'FAIL';
    rows.push([goal, verdict, missing.length > 0 ? `${detail}; no valid run of ${missing.join(', ')}` : detail]);
  };
  const n0 = (v) => (v === undefined ? '?' : si(v));

  const a = lp('A', 'tasksPerSec');
  const aPeer = best('A', 'tasksPerSec', true);
  const aSend = m('A', 'raw-send', 'tasksPerSec')?.median;
  const aPipe = m('A', 'raw-pipe', 'tasksPerSec')?.median;
  check('A ≥ 5× the best process-based peer', a && aPeer ? a >= 5 * aPeer.value : undefined, `looppool ${n0(a)}/s vs ${aPeer?.id ?? '?'} ${n0(aPeer?.value)}/s: ${ratio(a / aPeer?.value)}`);
  check('A ≥ 2× raw per-message process.send', a && aSend ? a >= 2 * aSend : undefined, `${n0(a)}/s vs ${n0(aSend)}/s: ${ratio(a / aSend)}`);
  check('A ≥ 50% of the bare batched pipe', a && aPipe ? a >= 0.5 * aPipe : undefined, `${n0(a)}/s vs ${n0(aPipe)}/s: ${aPipe ? `${((100 * a) / aPipe).toFixed(0)}%` : '?'}`);

  const c = lp('C', 'ms');
  const cIdeal = m('C', 'looppool', 'idealMs')?.median ?? 200;
  const cAll = systemsOf('C').filter((id) => ['process', 'threads'].includes(kindOf.get(id)?.kind)).map((id) => [id, m('C', id, 'ms')?.median]);
  const cOthers = cAll.filter(([, v]) => v !== undefined);
  check('C within 1.5× of the ideal', c ? c <= 1.5 * cIdeal : undefined, `${n0(c)} ms vs ideal ${cIdeal} ms: ${ratio(c / cIdeal)}`);
  const cBest = cOthers.sort((x, y) => x[1] - y[1])[0];
  unmeasured.push(...cAll.filter(([, v]) => v === undefined).map(([id]) => id));
  check('C ahead of every peer', c && cBest ? c < cBest[1] : undefined, `${n0(c)} ms vs best peer ${cBest?.[0] ?? '?'} ${n0(cBest?.[1])} ms`);

  for (const q of ['p50us', 'p99us']) {
    const mine = lp('D', q);
    const peer = best('D', q, false);
    check(`D ${q.slice(0, 3)} no worse than the best process-based peer`, mine && peer ? mine <= peer.value : undefined, `${n0(mine)} µs vs ${peer?.id ?? '?'} ${n0(peer?.value)} µs`);
  }
  const cold = lp('D', 'coldP99us');
  const coldPeer = best('D', 'coldP99us', false);
  check('D p99 of the cold round trips (reported)', undefined, `${n0(cold)} µs vs ${coldPeer?.id ?? '?'} ${n0(coldPeer?.value)} µs`);
  const pinned = g.get('pinned')?.get('D');
  for (const q of pinned ? ['p50us', 'p99us'] : []) {
    const mine = stat(pinned.get('looppool'), q)?.median;
    const peers = [...pinned.keys()].filter((id) => kindOf.get(id)?.kind === 'process');
    const peer = peers.map((id) => ({ id, value: stat(pinned.get(id), q)?.median })).filter((x) => x.value !== undefined).sort((x, y) => x.value - y.value)[0];
    check(`D ${q.slice(0, 3)} on one CPU (reported)`, undefined, `${n0(mine)} µs vs best process peer ${peer?.id ?? '?'} ${n0(peer?.value)} µs`);
  }

  const b = lp('B', 'ms');
  const speedUp = b && inlineB ? inlineB.median / b : undefined;
  const quietB = (id) => stat(main('B').get(id)?.filter((r) => r.busyBefore !== undefined && r.busyBefore <= 0.3), 'ms')?.median;
  const quietSpeedUp = quietB('inline') / quietB('looppool');
  // Three decimals: a speed-up of 1.8994 must not read as 1.90 next to FAIL.
  const ratio3 = (v) => (Number.isFinite(v) ? `${v.toFixed(3)}×` : 'n/a');
  check('B speed-up ≥ 1.9× over inline', speedUp ? speedUp >= 1.9 : undefined,
    `${ratio3(speedUp)} (inline ${n0(inlineB?.median)} ms, looppool ${n0(b)} ms); runs started on a quiet machine only: ${ratio3(quietSpeedUp)}`);

  const e = lp('E', 'startMs');
  const ePeer = best('E', 'startMs', false, (s) => s.keepsEnv !== false);
  const eAll = best('E', 'startMs', false);
  check('E JS first result no slower than the fastest process peer that keeps the environment', e && ePeer ? e <= ePeer.value : undefined,
    `${n0(e)} ms vs ${ePeer?.id ?? '?'} ${n0(ePeer?.value)} ms (fastest of all process peers: ${eAll?.id ?? '?'} ${n0(eAll?.value)} ms)`);
  const fn = m('E', 'looppool-fn', 'startMs')?.median;
  check('E JS worker as a plain function, first result (reported)', undefined,
    `${n0(fn)} ms (the shape of every peer's worker: it imports nothing of looppool's), idle RSS ${n0(m('E', 'looppool-fn', 'rssMiB')?.median)} MiB`);
  const ts = m('E', 'looppool-ts', 'startMs')?.median;
  check('E TypeScript worker first result (reported)', undefined, `${n0(ts)} ms (tsx loads in the child only for .ts workers)`);
  const rss = lp('E', 'rssMiB');
  const rssSend = m('E', 'raw-send', 'rssMiB')?.median;
  check('E idle RSS no more than raw process.send', rss && rssSend ? rss <= rssSend : undefined, `${n0(rss)} MiB vs ${n0(rssSend)} MiB`);

  const f = lp('F', 'tasksPerSec');
  const fPeer = best('F', 'tasksPerSec', true);
  check('F ≥ the best process-based peer on 64 KiB payloads', f && fPeer ? f >= fPeer.value : undefined, `${n0(f)}/s vs ${fPeer?.id ?? '?'} ${n0(fPeer?.value)}/s`);
  const fAdvanced = m('F', 'raw-send-advanced', 'tasksPerSec')?.median;
  check("F aim: the `advanced` serialization's figure (raw process.send)", f && fAdvanced ? f >= fAdvanced : undefined, `${n0(f)}/s vs ${n0(fAdvanced)}/s`);
  const fSmall = lp('F', 'smallP99ms');
  const fSmallPeer = best('F', 'smallP99ms', false);
  check('F small tasks not stalled by big ones (p99, reported)', undefined, `looppool p99 ${n0(fSmall)} ms, p50 ${n0(lp('F', 'smallP50ms'))} ms; best process peer p99: ${fSmallPeer?.id ?? '?'} ${n0(fSmallPeer?.value)} ms`);

  for (const [w, metric, higher] of METRIC_WORKLOADS) {
    const costs = pairedCosts(g.get('metrics')?.get(w), metric, higher);
    if (costs.length === 0) continue;
    const cost = median(costs);
    check(`Metrics overhead on ${w} ≤ 5% (median of ${costs.length} back-to-back pairs; default reportInterval)`, cost <= 0.05, `${percent(cost)} (pairs from ${percent(Math.min(...costs))} to ${percent(Math.max(...costs))})`);
  }
  for (const variant of ['looppool+metrics', 'looppool+metrics@100ms']) {
    for (const [w, metric, higher] of METRIC_WORKLOADS) {
      const on = m(w, variant, metric)?.median;
      const off = lp(w, metric);
      const cost = on && off ? (higher ? off / on - 1 : on / off - 1) : undefined;
      // The paired runs decide when there are any; these medians are then reported only.
      const decides = variant === 'looppool+metrics' && pairedCosts(g.get('metrics')?.get(w), metric, higher).length === 0;
      const what = variant === 'looppool+metrics' ? 'default reportInterval' : 'reportInterval 100 ms';
      check(`Metrics overhead on ${w} ≤ 5% (medians of the main table; ${what}${decides ? '' : ', reported'})`, cost === undefined || !decides ? undefined : cost <= 0.05,
        cost === undefined ? `not measured${main(w).get(variant)?.some((r) => r.result?.skipped) ? `: the Pool does not accept the reporter options yet (${variant} skipped)` : ' in this run'}` : `${(cost * 100).toFixed(1)}% (${n0(on)} vs ${n0(off)})`);
    }
  }
  return `### Goals of issue 6 (medians of this run)\n\n${table(['goal', 'result', 'numbers'], rows)}\n`;
}
