/**
 * Every example in manual/examples runs, by the command its documentation gives: the extract
 * job through a real pseudo-terminal (progress display and summary), the FetchWorker against
 * the local server it starts, the instrumented worker with and without statsd and Sentry, and
 * the broadcast example.
 */
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSentryEndpoint } from '../helpers/sentry-endpoint.ts';
import { expectNoPoolLeft, ROOT, runCli } from './helpers.ts';

// Made before the first test, not at import: a run that filters out every test imports the
// file but runs none of its hooks, and the directory was left behind.
let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'looppool-examples-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const EXAMPLES = path.join(ROOT, 'manual/examples');

/** Run a command to its end (the examples' own scripts). */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('manual/examples', () => {
  it('extract: the README command shows the progress display and the summary on a terminal, and writes a record per file', async () => {
    const output = path.join(tmp, 'extract.jsonl');
    // The README's command, over the manual/ and src/ directories to keep the test short, in a pseudo-terminal (script).
    const command = `node manual/examples/extract/list-files.mjs manual src | node bin/looppool.js run manual/examples/extract/worker.ts --lines --output ${output} --size 2`;
    const listed = spawnSync('node', ['manual/examples/extract/list-files.mjs', 'manual', 'src'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim().split('\n');
    const terminal = spawnSync('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, COLUMNS: '120', LINES: '40', TERM: 'xterm-256color' }, timeout: 120_000 });
    expect(terminal.status, terminal.stdout).toBe(0);
    const screen = terminal.stdout;
    expect(screen).toMatch(/looppool extract · \d+(\/\d+)? done/); // the live display…
    expect(screen).toMatch(/worker 0 {2}pid \d+ .*in flight .*cpu .*rss .*done/);
    expect(screen).toMatch(/\x1b\[\d+F\x1b\[J/); // …redrawn in place
    expect(screen).toMatch(new RegExp(`looppool extract: ${listed.length} tasks in [\\d.]+ s \\(.*/s\\): ${listed.length} ok, 0 failed`));
    expect(screen).toMatch(/wait p50 .* run p50 .* p99 .* \d+ restarts?\b/);
    const records = readFileSync(output, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toHaveLength(listed.length);
    const readme = records.find((r) => r.result?.path === 'manual/examples/extract/worker.ts');
    expect(readme.result).toMatchObject({ bytes: expect.any(Number), lines: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/), gzipBytes: expect.any(Number) });
  });

  it('extract: list-files.mjs lists the repository, node_modules included, without git', async () => {
    const listing = await run('node', ['manual/examples/extract/list-files.mjs']);
    expect(listing.code).toBe(0);
    const files = listing.stdout.trim().split('\n');
    expect(files).toContain('package.json');
    expect(files).toContain('manual/examples/extract/worker.ts');
    expect(files.some((f) => f.startsWith('node_modules/'))).toBe(true);
    expect(files.some((f) => f.startsWith('.git/'))).toBe(false);
    const noDeps = await run('node', ['manual/examples/extract/list-files.mjs', '--no-deps']);
    expect(noDeps.stdout.split('\n').some((f) => f.startsWith('node_modules/'))).toBe(false);
  });

  it("extract: list-files.mjs skips the examples' own outputs, so a second run does not list what it writes", async () => {
    const dir = path.join(tmp, 'listed');
    mkdirSync(path.join(dir, 'sub'), { recursive: true });
    for (const name of ['a.txt', 'extract.jsonl', 'jobs.jsonl', 'sub/b.jsonl']) writeFileSync(path.join(dir, name), '{}\n');
    const listing = await run('node', ['manual/examples/extract/list-files.mjs', dir]);
    expect(listing.code).toBe(0);
    const files = listing.stdout.trim().split('\n').map((f) => path.relative(dir, path.resolve(ROOT, f))).sort();
    expect(files).toEqual(['a.txt', 'sub/b.jsonl']);
  });

  it('fetch: the FetchWorker fetches every page of the local server and answers [url, server header]', async () => {
    const result = await run(TSX, [path.join(EXAMPLES, 'fetch/main.ts')]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    const pairs = lines.slice(0, -1).map((l) => JSON.parse(l) as [string, string]);
    expect(pairs).toHaveLength(20);
    for (const [url, server] of pairs) expect(server).toBe(`example/${url.split('/').pop()}`);
    expect(lines.at(-1)).toBe('20 pages fetched by 2 worker processes');
  });

  it('broadcast: one broadcast refreshes the table of every worker', async () => {
    const result = await run(TSX, [path.join(EXAMPLES, 'broadcast/main.ts')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("{ item: 'apple', price: 1.2, version: 1, worker: 0 } { item: 'apple', price: 1.2, version: 1, worker: 1 }");
    expect(result.stdout).toContain('every worker now holds version [ 2, 2 ]');
    expect(result.stdout).toContain("{ item: 'plum', price: 2.25, version: 2, worker: 1 }");
  });

  it('instrumented: runs with no statsd listening and no Sentry (the failing task fails, nothing else)', async () => {
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve())); // now nothing listens there
    const result = await runCli(instrumentedArgs('inst-dark', port), { env: { SENTRY_DSN: '' } });
    expect(result.code).toBe(1);
    expect(result.records().filter((r) => 'result' in r)).toHaveLength(5);
    expect(result.records().find((r) => r.line === 3)?.error).toMatchObject({ origin: 'task', message: 'task 3 failed on purpose' });
    await expectNoPoolLeft('inst-dark');
  });

  it('instrumented: reports task and process metrics to statsd', async () => {
    const statsd = dgram.createSocket('udp4');
    const lines: string[] = [];
    statsd.on('message', (packet) => lines.push(...packet.toString().split('\n')));
    await new Promise<void>((resolve) => statsd.bind(0, '127.0.0.1', resolve));
    try {
      const result = await runCli(instrumentedArgs('inst-statsd', (statsd.address() as AddressInfo).port), { env: { SENTRY_DSN: '' } });
      expect(result.code).toBe(1);
      await expect.poll(() => lines.filter((l) => /^example\.inst-statsd\.worker\.[01]\.tasks\.done:1\|c$/.test(l)).length).toBe(5);
      expect(lines.some((l) => /^example\.inst-statsd\.worker\.[01]\.tasks\.failed:1\|c$/.test(l))).toBe(true);
      expect(lines.some((l) => /^example\.inst-statsd\.worker\.[01]\.tasks\.duration:[\d.]+\|ms$/.test(l))).toBe(true);
      expect(lines.some((l) => /^example\.inst-statsd\.worker\.[01]\.[a-z_.]+:[\d.]+\|g$/.test(l))).toBe(true); // the ResourceReporter
    } finally {
      statsd.close();
    }
  });

  it('instrumented: sends the task error to Sentry when SENTRY_DSN is set', async () => {
    const sentry = await startSentryEndpoint();
    const bodies = (): string[] => sentry.envelopes.map((e) => e.raw);
    try {
      const dsn = sentry.dsn;
      const result = await runCli(instrumentedArgs('inst-sentry', 9), { env: { SENTRY_DSN: dsn } }, 60_000);
      expect(result.code).toBe(1);
      const task3 = bodies().filter((b) => b.includes('task 3 failed on purpose')); // flushed before the worker exited
      // The worker's own event (its tags) and the pool's (SENTRY_DSN turns the pool's on too): README says it arrives twice.
      expect(task3.some((b) => b.includes('"task":"3"'))).toBe(true);
      expect(task3.some((b) => b.includes('"taskId":"3"') && b.includes('looppool.task'))).toBe(true);
      expect(result.stderr).not.toContain('publickey@');
    } finally {
      await sentry.close();
    }
  });
});

function instrumentedArgs(name: string, port: number): string[] {
  return [
    'run', 'manual/examples/instrumented/worker.ts', '--input', 'manual/examples/instrumented/tasks.jsonl', '--size', '2', '--name', name,
    '--worker-data', JSON.stringify({ statsd: { host: '127.0.0.1', port } }),
  ];
}
