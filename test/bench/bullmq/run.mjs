/**
 * `node test/bench/bullmq/run.mjs [--repeats N] [--scale F]`: jobs per second through Redis, from
 * a full queue to the last job completed, for looppool pools consuming one BullMQ queue (1 and 2
 * pools, each in its own process) against BullMQ's sandboxed processors (a child process per
 * concurrent job) and, as the ceiling, a plain in-process BullMQ Worker. Two workloads: `noop`
 * (the job returns at once: measures the per-job overhead) and `io10` (each job waits 10 ms:
 * measures how many jobs are in flight). Needs Redis on 127.0.0.1:6379, `npm run build`, and
 * `ioredis` (BullMQ's driver). Prints a Markdown table on stdout, progress on stderr.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';

const CONNECTION = { host: '127.0.0.1', port: 6379 };
const CONSUMER = fileURLToPath(new URL('./consumer.mjs', import.meta.url));
const PROCESSOR = fileURLToPath(new URL('./sandbox-processor.mjs', import.meta.url));
const WARM_UP = 16;

const { values: args } = parseArgs({ options: { repeats: { type: 'string', default: '3' }, scale: { type: 'string', default: '1' } } });
const repeats = Number(args.repeats);
/** `--scale 0.1` runs a tenth of the jobs (a quick check that everything works). */
const scale = Number(args.scale);

const WORKLOADS = [
  { id: 'noop', ms: 0 },
  { id: 'io10', ms: 10 },
];

/**
 * Each system: how to start its consumers on a queue (the promise resolves to a stop function)
 * and how many jobs a run gets per workload (enough for a few seconds each).
 */
const SYSTEMS = [
  { id: 'looppool, 1 pool', detail: '1 process: pool of 2 workers × concurrency 50', jobs: { noop: 20000, io10: 10000 }, start: (q) => pools(q, 1, 'progress') },
  { id: 'looppool, 2 pools', detail: '2 processes: each a pool of 2 workers × concurrency 50', jobs: { noop: 20000, io10: 10000 }, start: (q) => pools(q, 2, 'progress') },
  { id: "looppool, 1 pool, metadata 'none'", detail: 'as 1 pool, without the per-job progress write', jobs: { noop: 20000, io10: 10000 }, start: (q) => pools(q, 1, 'none') },
  { id: 'BullMQ sandboxed', detail: 'Worker(file), concurrency 4: 4 child processes, one job each', jobs: { noop: 20000, io10: 2000 }, start: (q) => bullmqWorker(q, PROCESSOR, 4) },
  { id: 'BullMQ in-process (ceiling)', detail: 'Worker(function), concurrency 100, no isolation', jobs: { noop: 20000, io10: 10000 }, start: (q) => bullmqWorker(q, inProcess, 100) },
];

async function inProcess(job) {
  if (job.data.ms) await new Promise((resolve) => setTimeout(resolve, job.data.ms));
  return job.data.n;
}

async function pools(queue, count, metadata) {
  const children = await Promise.all(Array.from({ length: count }, () => startConsumer({ queue, size: 2, concurrency: 50, metadata })));
  return async () => {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve()))));
  };
}

function startConsumer(config) {
  const child = spawn(process.execPath, [CONSUMER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`consumer exited with code ${code} before it was ready`)));
  });
}

async function bullmqWorker(queue, processor, concurrency) {
  const worker = new Worker(queue, processor, { connection: CONNECTION, concurrency });
  worker.on('error', (error) => process.stderr.write(`worker error: ${error.message}\n`));
  await worker.waitUntilReady();
  return () => worker.close();
}

async function until(check) {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** One measured run: warm up, pause, fill the queue, resume, time until the last job completes. */
async function measure(system, workload, jobs) {
  const name = `looppool-bench-${process.pid}-${Date.now()}`;
  const queue = new Queue(name, { connection: CONNECTION });
  const stop = await system.start(name);
  try {
    await queue.addBulk(Array.from({ length: WARM_UP }, (_, n) => ({ name: 'job', data: { n, ms: workload.ms } })));
    await until(async () => (await queue.getCompletedCount()) === WARM_UP);
    await queue.pause();
    for (let start = 0; start < jobs; start += 1000) {
      const size = Math.min(1000, jobs - start);
      await queue.addBulk(Array.from({ length: size }, (_, i) => ({ name: 'job', data: { n: start + i, ms: workload.ms } })));
    }
    const t0 = performance.now();
    await queue.resume();
    await until(async () => (await queue.getCompletedCount()) === WARM_UP + jobs);
    const seconds = (performance.now() - t0) / 1000;
    const failed = await queue.getFailedCount();
    if (failed > 0) throw new Error(`${failed} jobs failed`);
    return seconds;
  } finally {
    await stop();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

/** PING Redis without BullMQ (which would create keys and retry for ever); exit 1 with how to start it. */
function pingRedis() {
  return new Promise((resolve) => {
    const socket = net.connect(CONNECTION.port, CONNECTION.host);
    const fail = (why) => {
      socket.destroy();
      process.stderr.write(`Redis is not answering on 127.0.0.1:6379 (${why}): start it with \`redis-server --daemonize yes --port 6379 --save ""\`\n`);
      process.exit(1);
    };
    socket.setTimeout(3000, () => fail('no answer within 3 s'));
    socket.on('error', (error) => fail(error.message));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => {
      socket.end();
      if (chunk.toString('latin1').startsWith('+PONG')) resolve();
      else fail(`it answered ${JSON.stringify(chunk.toString('latin1').trim())} to PING`);
    });
  });
}

function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? '?';
  return `${os.availableParallelism()} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, Linux ${os.release()}`;
}

const loadAvg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

await pingRedis();
const started = new Date();
const loadBefore = loadAvg();
// Repeats outermost, so that a change of load on this shared machine spreads over every cell.
const rates = new Map();
for (let r = 0; r < repeats; r++) {
  for (const workload of WORKLOADS) {
    for (const system of SYSTEMS) {
      const jobs = Math.max(100, Math.round(system.jobs[workload.id] * scale));
      process.stderr.write(`run ${r + 1}/${repeats} · ${workload.id} · ${system.id} · ${jobs} jobs … `);
      const rate = jobs / (await measure(system, workload, jobs));
      process.stderr.write(`${rate.toFixed(0)} jobs/s\n`);
      const key = `${workload.id}\0${system.id}`;
      rates.set(key, [...(rates.get(key) ?? []), { rate, jobs }]);
    }
  }
}
const rows = [];
for (const workload of WORKLOADS) {
  for (const system of SYSTEMS) {
    const runs = rates.get(`${workload.id}\0${system.id}`).map((x) => x.rate).sort((a, b) => a - b);
    const jobs = Math.max(100, Math.round(system.jobs[workload.id] * scale));
    rows.push({ workload: workload.id, jobs, system, median: runs[Math.floor(runs.length / 2)], min: runs[0], max: runs.at(-1) });
  }
}

console.log(`BullMQ benchmark, ${started.toISOString()} (${((Date.now() - started.getTime()) / 1000).toFixed(0)} s)`);
console.log(`Machine: ${machine()}; Redis on 127.0.0.1:6379; load average (1/5/15 min) before ${loadBefore}, after ${loadAvg()}`);
console.log(`Runs per cell: ${repeats}; jobs/s is the median, with the range over the runs\n`);
console.log('| workload | consumers | how | jobs per run | jobs/s (median) | range |');
console.log('| --- | --- | --- | ---: | ---: | ---: |');
for (const row of rows) {
  console.log(`| ${row.workload} | ${row.system.id} | ${row.system.detail} | ${row.jobs} | ${Math.round(row.median)} | ${Math.round(row.min)}–${Math.round(row.max)} |`);
}
