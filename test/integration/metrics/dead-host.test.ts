/**
 * A statsd host that is down or does not resolve changes nothing for the pool: tasks give the
 * same results, nothing throws, the error is reported once, and closing does not hang.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createStatsd, resolveStatsdOptions, ResourceReporter, startPoolMetrics, type PoolMetrics,
} from '../../../src/metrics/index.ts';
import { fixture, makePool } from '../../helpers/pools.ts';
import { isAlive, waitFor } from '../../helpers/processes.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const busyWorker = path.resolve(here, '../../fixtures/metrics/busy-worker.ts');

let metrics: PoolMetrics | undefined;
/** Processes a test started (a parent script and its workers), killed by pid if still alive. */
const started: number[] = [];
afterEach(async () => {
  await metrics?.close(500);
  metrics = undefined;
  for (const pid of started.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
});

/** A TCP port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('a dead statsd host', () => {
  it('an unresolvable host changes nothing for the tasks and is reported once', async () => {
    const statsd = { host: 'statsd.invalid', port: 8125 };
    const pool = makePool({
      worker: busyWorker,
      size: 2,
      name: 'dead',
      // the workers report too, every 50 ms, to the same host
      workerData: { metrics: { statsd: resolveStatsdOptions(statsd), pool: 'dead', interval: 50 } },
    });
    await pool.start();
    const errors: Error[] = [];
    metrics = startPoolMetrics(pool, statsd, { name: 'dead', interval: 50, onError: (e) => errors.push(e) });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.run({ value: i })));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const handle = metrics.statsd;
    await waitFor(() => handle.errorCount >= 3, 'several failed sends');
    expect(errors).toHaveLength(1);
    expect((errors[0] as NodeJS.ErrnoException).code).toMatch(/^(ENOTFOUND|EAI_AGAIN)$/);
    expect(pool.stats()).toMatchObject({ done: 20, failed: 0, restarts: 0 });
    await metrics.close(500);
    metrics = undefined;
    await pool.stop();
    expect(pool.stats().restarts).toBe(0);
  });

  it('a UDP port with no listener: reporting goes on and nothing throws', async () => {
    const errors: Error[] = [];
    const handle = createStatsd({ port: await closedPort() }, { onError: (e) => errors.push(e) });
    const reporter = new ResourceReporter(handle.client, 'nobody', { interval: 20 });
    let ticks = 0;
    reporter.addSource(() => {
      ticks++;
      return { counters: { ticks: 1 } };
    });
    reporter.start();
    await waitFor(() => ticks >= 5, 'five reports');
    reporter.stop();
    await handle.close(500);
    expect(errors.length).toBeLessThanOrEqual(1);
  });

  it('TCP to a port with no listener: the error is reported once and close() does not hang', async () => {
    const errors: Error[] = [];
    const handle = createStatsd({ protocol: 'tcp', port: await closedPort() }, { onError: (e) => errors.push(e) });
    const reporter = new ResourceReporter(handle.client, 'tcp', { interval: 20 });
    reporter.start();
    await waitFor(() => handle.errorCount >= 2, 'the connection errors');
    reporter.stop();
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/ECONNREFUSED|closed/i);
    // hot-shots' TCP close() never calls back after a refused connection; a socket known closed is
    // not waited for (before, close() took its whole bound, 2 s by default: every stop with statsd down).
    await handle.close(10 * 60_000);
  });

  // hot-shots' TCP close() never calls back after a refused connection, and the bound on it must
  // keep the process alive: a plain script has nothing else left once its workers are gone.
  it('TCP to a port with no listener: `await pool.stop()` returns in a script that has nothing else to do', async () => {
    const script = path.resolve(here, '../../fixtures/parents/tcp-statsd-stop.mjs');
    const parent = spawn(process.execPath, [script, fixture('echo.ts'), String(await closedPort())], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(parent.pid as number);
    let out = '';
    let workers: number[] = [];
    parent.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (workers.length === 0 && out.includes('\n')) {
        workers = JSON.parse(out.slice(0, out.indexOf('\n'))) as number[];
        started.push(...workers);
      }
    });
    parent.stderr.resume(); // the once-reported ECONNREFUSED lines
    const code = await closed(parent);
    expect(out.split('\n').slice(1)).toEqual(['{"stopped":"stopped"}', '']);
    expect(code).toBe(0);
    expect(workers).toHaveLength(1);
    expect(workers.some(isAlive)).toBe(false);
  });
});

describe('a TCP statsd that never answers (its connections stay unanswered)', () => {
  // hot-shots waited for the writes queued on the connection, then printed in every process,
  // workers too, "hot-shots could not clear out messages in flight but closing anyways".
  it('`await pool.stop()` returns, and nothing but the pool\'s one report is printed', async () => {
    // A listener that never accepts, its queue of one filled: further connections are never answered.
    const listener = spawn('python3', ['-c', 'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)'], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(listener.pid as number);
    const port = Number(await new Promise<string>((resolve) => listener.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
    const fillers = Array.from({ length: 4 }, () => net.connect(port, '127.0.0.1').on('error', () => {}));
    try {
      const probe = net.connect(port, '127.0.0.1').on('error', () => {});
      await waitFor(() => fillers.some((c) => !c.connecting), 'the listener queue to take a connection');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(probe.connecting).toBe(true); // the condition under test: a connection that is not answered
      probe.destroy();
      const script = path.resolve(here, '../../fixtures/parents/tcp-statsd-stop.mjs');
      const parent = spawn(process.execPath, [script, fixture('echo.ts'), String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
      started.push(parent.pid as number);
      let out = '';
      let err = '';
      parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
      parent.stderr.on('data', (d: Buffer) => (err += d.toString()));
      expect(await closed(parent)).toBe(0);
      expect(out).toContain('{"stopped":"stopped"}');
      expect(err).not.toMatch(/hot-shots could not clear out messages/);
      expect(err.split('\n').filter((l) => l !== '').every((l) => l.startsWith('looppool: statsd 127.0.0.1:'))).toBe(true);
    } finally {
      for (const c of fillers) c.destroy();
    }
  });
});

/** The exit code of `child` once its output is closed too (null if a signal ended it); gives up after 30 s. */
function closed(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error('the parent script was still running after 30 s')), 30_000);
    child.once('close', (code) => {
      clearTimeout(deadline);
      resolve(code);
    });
  });
}
