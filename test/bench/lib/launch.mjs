/**
 * Starts one benchmark run as a fresh process in a process group of its own, collects its
 * `BENCH_RESULT` line, and finds (and kills) whatever it leaves behind.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { groupMembers, startedByPool } from './procs.mjs';

const RUN_ONE = fileURLToPath(new URL('../run-one.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** util-linux's taskset, for runs pinned to one CPU; undefined where there is none. */
export const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((f) => existsSync(f));

let current; // the run in progress, killed if we are interrupted
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (current) {
      killGroup(current.pid);
      for (const pid of startedByPool(current.pid)) killPid(pid);
    }
    process.stderr.write(`\ninterrupted (${signal}); the run in progress was killed\n`);
    process.exit(130);
  });
}

function killPid(pid) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function killGroup(pgid) {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // the group is already empty
  }
}

/**
 * looppool is imported from dist/, which `npm run build` deletes and writes again: when someone
 * builds while the benchmark runs, wait (up to 60 s) for the build to be back.
 */
export async function distReady() {
  const files = ['dist/index.js', 'dist/child/main.js'].map((f) => `${ROOT}${f}`);
  for (let waited = 0; waited < 60_000 && !files.every((f) => existsSync(f)); waited += 500) {
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Run one job (`{ system, workload, config, params }`) in a fresh process; resolve
 * `{ result, leaked, seconds }`, where `leaked` counts the processes of its group still alive
 * 3 s after it exited (they are killed).
 */
export function launch(job, timeoutMs) {
  const spec = {
    adapter: job.system.adapter,
    workload: job.workload,
    config: job.config,
    params: job.params,
    optional: job.system.optional === true,
    statsdSink: job.system.statsdSink === true,
  };
  const started = performance.now();
  return new Promise((resolve) => {
    // --expose-gc only where the workload calls gc() (mem): the pools' children inherit their
    // parent's flags, and with it every Node process starts 10-20 ms slower and a little bigger
    // (manual/performance.md, section 5), which no user's pool does.
    const flags = job.workload === 'mem' ? ['--expose-gc'] : [];
    const argv = [process.execPath, ...flags, ...(job.system.nodeArgs ?? []), RUN_ONE, JSON.stringify(spec)];
    // `pinned`: the run and every process it starts on CPU 0 only (taskset execs node: same pid).
    const [file, ...args] = job.pinned ? [TASKSET, '-c', '0', ...argv] : argv;
    const child = spawn(file, args, {
      cwd: ROOT,
      detached: true, // a process group of its own: whatever it leaves behind is found and killed
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    current = child;
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => (stdout += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    child.on('close', async (code, signal) => {
      clearTimeout(timer);
      // Children may take a moment to notice their parent is gone; then anything left is a leak.
      // Its group, and looppool's workers, which are in groups of their own.
      const leftovers = () => [...groupMembers(child.pid), ...startedByPool(child.pid)];
      let left = leftovers();
      for (let k = 0; k < 30 && left.length > 0; k++) {
        await new Promise((r) => setTimeout(r, 100));
        left = leftovers();
      }
      if (left.length > 0) killGroup(child.pid);
      for (const pid of startedByPool(child.pid)) killPid(pid);
      current = undefined; // only now: a Ctrl-C during the look above still kills what is left
      const line = stdout.split('\n').reverse().find((l) => l.startsWith('BENCH_RESULT '));
      let result = line ? JSON.parse(line.slice('BENCH_RESULT '.length)) : { error: `exited with ${signal ?? code} and no result` };
      if (timedOut) result = { timeout: true };
      resolve({ result, leaked: left.length, seconds: (performance.now() - started) / 1000 });
    });
  });
}
