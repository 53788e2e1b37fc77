/**
 * `npm run bench [-- options]`: the benchmark of issue 6. Every run (one system, one workload)
 * is a fresh process in a process group of its own; systems are interleaved and repeated; the
 * report (Markdown, on stdout) gives medians with min–max over the runs whose answers were
 * all right, the ratios to looppool and the goal checks. Progress goes to stderr. Options: USAGE
 * below (`--help` prints it); manual/performance.md, section 2.
 *
 * Needs `npm run build` first (looppool is imported by name, i.e. from dist/).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { distReady, launch, TASKSET } from './lib/launch.mjs';
import { calibrate, loadAverage, machine, QuietWait } from './lib/machine.mjs';
import { buildPlan, MAIN_WORKLOADS, REPEAT_FRACTION, repeatsOf, SYSTEMS } from './lib/plan.mjs';
import { descendants } from './lib/procs.mjs';
import { report, whyInvalid } from './lib/report.mjs';
import { median } from './lib/stats.mjs';

const ALL_WORKLOADS = [...MAIN_WORKLOADS, 'G', 'scaling', 'metrics', 'mem'];
const USAGE = `Usage: npm run bench [-- options]

  --quick            fewer repeats and smaller workloads (about 3 minutes on 2 cores)
  --repeats N        repeats of the main workloads (default 5, quick 2)
  --systems a,b      only these systems: ${SYSTEMS.map((s) => s.id).join(' ')}
  --workloads A,C    only these: ${ALL_WORKLOADS.join(' ')} (G only when named)
  --json FILE        also write every run's raw result to FILE
  --timeout S        seconds before a run is killed (default 180)
  --settle S         before each run, wait up to S seconds for the machine to be quiet
                     (other processes using under 30% of the CPUs; default 5, quick 2;
                     at most 45 s of waiting in all); 0 turns it off
  --help             print this and exit

The report (Markdown) goes to stdout, one line of progress per run to stderr.
`;

/** Exit with a one-line reason and the usage (exit code 2, as for any bad command line). */
function usageError(message) {
  process.stderr.write(`bench: ${message}\n\n${USAGE}`);
  process.exit(2);
}

/** `--json FILE`: refused now, not after the whole run, when FILE cannot be written (created empty, filled at the end). */
function jsonWritable(file) {
  if (file === '') usageError('--json needs a file name');
  try {
    writeFileSync(file, '');
  } catch (err) {
    usageError(`--json ${file}: ${err.message}`);
  }
}

/** A number >= `min` from option `name`, or the usage error. */
function numberOption(name, text, min, integer = false) {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    usageError(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** The comma-separated list of option `name`, each item one of `known`. */
function listOption(name, text, known) {
  const items = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
  const unknown = items.filter((item) => !known.includes(item));
  if (items.length === 0 || unknown.length > 0) usageError(`--${name}: unknown ${unknown.length > 0 ? unknown.join(', ') : '(empty list)'}`);
  return items;
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      repeats: { type: 'string' },
      systems: { type: 'string' },
      workloads: { type: 'string' },
      json: { type: 'string' },
      timeout: { type: 'string', default: '180' },
      settle: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
} catch (err) {
  usageError(err.message.split('\n')[0]); // node's message for `--settle -1` runs over three lines
}
const args = parsed.values;
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const quick = args.quick;
const repeats = args.repeats === undefined ? (quick ? 2 : 5) : numberOption('repeats', args.repeats, 1, true);
const systems = args.systems === undefined ? undefined : listOption('systems', args.systems, SYSTEMS.map((s) => s.id));
const workloads = args.workloads === undefined ? [...MAIN_WORKLOADS, 'scaling', 'metrics', 'mem'] : listOption('workloads', args.workloads, ALL_WORKLOADS);
const timeoutMs = numberOption('timeout', args.timeout, 1) * 1000;
if (args.json !== undefined) jsonWritable(args.json);
const settleMs = (args.settle === undefined ? (quick ? 2 : 5) : numberOption('settle', args.settle, 0)) * 1000;
const quiet = new QuietWait({ perRunMs: settleMs, budgetMs: 45_000 });

/** The one line of progress for a finished run. */
function headline(job, r) {
  if (r.skipped) return `skipped: ${r.skipped}`;
  if (r.timeout) return 'TIMEOUT';
  if (r.error) return `ERROR: ${r.error.split('\n')[0]}`;
  const n = (v, d = 0) => v.toLocaleString('en-US', { maximumFractionDigits: d });
  let text;
  switch (job.workload) {
    case 'A': text = `${n(r.tasksPerSec)} tasks/s`; break;
    case 'B': case 'G': text = `${n(r.ms)} ms`; break;
    case 'C': text = `${n(r.ms)} ms (ideal ${r.idealMs})`; break;
    case 'D': text = `p50 ${n(r.p50us)} µs, p99 ${n(r.p99us)} µs, cold p99 ${n(r.coldP99us)} µs`; break;
    case 'E': text = `first result ${n(r.startMs, 1)} ms, idle RSS ${n(r.rssMiB, 1)} MiB`; break;
    case 'F': text = `${n(r.tasksPerSec)} tasks/s, small p50 ${n(r.smallP50ms, 2)} ms p99 ${n(r.smallP99ms, 2)} ms`; break;
    case 'mem': text = `${n(r.bytesPerTask)} bytes/task`; break;
    default: text = JSON.stringify(r);
  }
  return r.errors ? `${text}  INVALID: ${whyInvalid({ result: r })}` : text;
}

const info = machine();
const iterations = calibrate(2);
const jobs = buildPlan({ quick, repeats, systems, workloads, iterations, pinnedD: TASKSET !== undefined });
if (jobs.length === 0) usageError(`nothing to run: no chosen system runs these workloads (${workloads.join(', ')}); scaling is looppool's, the metrics pairs need looppool+metrics`);
process.stderr.write(`looppool benchmark: ${jobs.length} runs, ${quick ? 'quick' : 'full'}, repeats ${repeats}; ${info.nproc} CPUs (${info.cpu}), Node ${info.node}, load ${info.load}\n`);

// tsx compiles a TypeScript worker into its cache (<tmpdir>/tsx-<uid>) the first time, and keeps an
// esbuild service process per worker meanwhile: one untimed start first, so that E's TypeScript
// row measures the usual case (a warm cache), whatever ran on the machine before.
const tsJob = jobs.find((j) => j.system.id === 'looppool-ts');
if (tsJob) {
  await distReady();
  await launch(tsJob, timeoutMs);
}

const t0 = performance.now();
const runs = [];
const skipped = new Set();
for (const [k, job] of jobs.entries()) {
  if (skipped.has(job.system.id)) continue;
  if (job.system.adapter === 'looppool') await distReady();
  const busyBefore = settleMs > 0 ? await quiet.wait() : undefined;
  const { result, leaked, seconds } = await launch(job, timeoutMs);
  if (result.skipped) skipped.add(job.system.id);
  runs.push({ section: job.section, label: job.label, workload: job.workload, system: job.system.id, repeat: job.repeat, config: job.config, params: job.params, result, leaked, seconds, busyBefore });
  const where = job.section === 'main' ? job.label : `${job.section} ${job.label}`;
  const busy = busyBefore === undefined ? '' : `  [machine ${Math.round(busyBefore * 100)}% busy before]`;
  process.stderr.write(`[${String(k + 1).padStart(3)}/${jobs.length}] ${where.padEnd(16)} ${job.system.id.padEnd(22)} r${job.repeat + 1}  ${headline(job, result)}${leaked ? `  (${leaked} processes left behind, killed)` : ''}  ${seconds.toFixed(1)} s${busy}\n`);
}
const minutes = (performance.now() - t0) / 60_000;
const end = loadAverage();
const leakedTotal = runs.reduce((sum, r) => sum + r.leaked, 0);
const stillAlive = descendants(process.pid);
const busyRuns = runs.filter((r) => r.busyBefore !== undefined);
const busyNote = busyRuns.length
  ? `- Other load: before each run the benchmark waited up to ${settleMs / 1000} s for the CPUs to be under 30% busy (${(quiet.spent / 1000).toFixed(0)} s spent checking and waiting); ${busyRuns.filter((r) => r.busyBefore > quiet.threshold).length} of ${busyRuns.length} runs still started on a busier machine (median busy before a run: ${Math.round(median(busyRuns.map((r) => r.busyBefore)) * 100)}%)`
  : '- Other load: not checked (--settle 0)';

const header = [
  `## Benchmark run of ${info.date.slice(0, 10)}`,
  '',
  `- Machine: ${info.nproc} CPUs (${info.cpu}), ${info.memGiB} GiB; Node ${info.node}; load average at start ${info.load}, at end ${end}`,
  `- Mode: ${quick ? 'quick' : 'full'}; ${repeats} repeats of the main workloads (${Object.keys(REPEAT_FRACTION).map((w) => `${w === 'pinned' ? 'D on one CPU' : w}: ${repeatsOf(w, repeats)}`).join(', ')}); ${runs.length} runs in ${minutes.toFixed(1)} min; 2 workers, concurrency 1,000 per worker unless stated; CPU task = ${iterations.toLocaleString('en-US')} xorshift rounds (≈ 2 ms here)`,
  busyNote,
  `- Processes left behind after a run: ${leakedTotal === 0 ? 'none' : `${leakedTotal} (killed; see the valid-runs column)`}; processes of this benchmark still alive at the end: ${stillAlive.length === 0 ? 'none' : stillAlive.join(', ')}`,
  '',
].join('\n');
process.stdout.write(`${header}\n${report(runs)}\n`);
if (args.json) writeFileSync(args.json, JSON.stringify({ machine: { ...info, loadAtEnd: end }, quick, repeats, iterations, minutes, runs }, null, 1));
