/**
 * `node test/bench/profile.mjs [--workload A] [--n 1000000] [--system looppool] [--top 25]`
 * (`--system`: any id of lib/plan.mjs, e.g. `raw-pipe` or `looppool+metrics@100ms`)
 *
 * Runs one workload once under `--cpu-prof`: the run process (the pool's parent) and, because
 * looppool hands its Node flags to its workers, each worker write a `.cpuprofile`. Prints the
 * functions with the most self time in the parent and in the busiest child, and leaves the
 * profiles in a temporary folder (its path is printed) to open in Chrome DevTools.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BASE_CONFIG, SYSTEMS } from './lib/plan.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUN_ONE = fileURLToPath(new URL('./run-one.mjs', import.meta.url));
const USAGE = 'usage: node test/bench/profile.mjs [--workload A] [--n 1000000] [--system looppool] [--top 25]';

/** A bad argument: say why in one line and exit 2, before anything is made. */
function usage(reason) {
  console.error(`profile: ${reason}\n${USAGE}`);
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      workload: { type: 'string', default: 'A' },
      n: { type: 'string', default: '1000000' },
      system: { type: 'string', default: 'looppool' },
      top: { type: 'string', default: '25' },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (err) {
  usage(err.message); // an unknown option, a missing value
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const n = Number(args.n);
if (!/^\d+$/.test(args.n) || n < 1) usage(`--n must be a whole number of tasks >= 1, got ${JSON.stringify(args.n)}`);
if (!/^\d+$/.test(args.top) || Number(args.top) < 1) usage(`--top must be a whole number >= 1, got ${JSON.stringify(args.top)}`);
const params = {
  A: { n, window: 1000 },
  B: { n, window: 1000, iterations: 1_200_000 }, // about 2 ms per task
  C: { n, window: 2000, ms: 20 },
  D: { n, warm: 500 },
  F: { n, window: 128, bytes: 65536 },
}[args.workload];
if (!params) usage(`--workload must be one of A, B, C, D, F, got ${JSON.stringify(args.workload)}`);
const system = SYSTEMS.find((x) => x.id === args.system);
if (!system) usage(`unknown --system ${JSON.stringify(args.system)}: one of ${SYSTEMS.map((x) => x.id).join(', ')}`);
const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-profile-'));
const spec = {
  adapter: system.adapter,
  workload: args.workload,
  config: { ...BASE_CONFIG, ...system.config },
  params,
  statsdSink: system.statsdSink === true,
};

const run = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, RUN_ONE, JSON.stringify(spec)], {
  cwd: ROOT,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
  timeout: 300_000,
});
const line = run.stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
console.log(`# Profile of ${args.system}, workload ${args.workload}, ${JSON.stringify(params)}\n`);
console.log(`result: ${line?.slice(13) ?? `none (exit ${run.status ?? run.signal})`}`);
console.log(`profiles: ${dir}\n`);

/** Self time per function (ms), from a .cpuprofile. */
function selfTimes(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const { functionName, url, lineNumber } = byId.get(profile.samples[i]).callFrame;
    const where = url ? ` ${url.replace(/^file:\/\//, '').replace(ROOT, '').replace(/^.*node_modules\//, '')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'}${where}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  return { self, total, pid: /\.(\d+)\.\d+\.cpuprofile$/.exec(file)?.[1] ?? /CPU\.\d+\.\d+\.(\d+)\./.exec(file)?.[1] };
}

function print(title, { self, total }) {
  const idle = self.get('(idle)') ?? 0;
  const busy = total - idle;
  console.log(`## ${title}: ${total.toFixed(0)} ms profiled, ${busy.toFixed(0)} ms busy (not idle)\n`);
  console.log('| self ms | % of busy | function |');
  console.log('| ---: | ---: | --- |');
  const rows = [...self.entries()].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, Number(args.top));
  for (const [k, ms] of rows) console.log(`| ${ms.toFixed(1)} | ${((100 * ms) / busy).toFixed(1)} | \`${k}\` |`);
  console.log('');
}

// Node names profiles CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile; the run process is the parent.
const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f));
const pidOf = (f) => Number(path.basename(f).split('.')[3]);
const parentFile = files.find((f) => pidOf(f) === run.pid) ?? files.sort((a, b) => statSync(a).size - statSync(b).size)[0];
const children = files.filter((f) => f !== parentFile).map((f) => ({ f, p: selfTimes(f) }));
if (parentFile) print(`Parent (pid ${pidOf(parentFile)})`, selfTimes(parentFile));
children.sort((a, b) => (b.p.total - (b.p.self.get('(idle)') ?? 0)) - (a.p.total - (a.p.self.get('(idle)') ?? 0)));
if (children[0]) print(`Busiest child (pid ${pidOf(children[0].f)}; ${children.length} child profiles)`, children[0].p);
