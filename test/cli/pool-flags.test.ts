/**
 * `looppool run` flags that map to pool options: each reaches the pool and shows in the
 * records, the summary, stderr, statsd or Sentry.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { startSentryEndpoint } from '../helpers/sentry-endpoint.ts';
import { describe, expect, it } from 'vitest';
import { createReportAcks } from '../fixtures/watchdog/ack-writer.mjs';
import { waitFor } from '../helpers/processes.ts';
import { expectNoPoolLeft, fixture, runCli, sleepTasks, startCli, uniqueName, workerPids } from './helpers.ts';

describe('looppool run: pool options from flags', () => {
  it('--timeout fails a task that runs too long with a TaskTimeoutError record', async () => {
    const run = await runCli(['run', fixture('sleep.mjs'), '--size', '1', '--timeout', '200', '--stop-timeout', '1000'], {
      input: '{"ms":5000,"id":1}\n{"ms":1,"id":2}\n',
    });
    expect(run.code).toBe(1);
    const records = run.records().sort((a, b) => a.line - b.line);
    expect(records[0]).toMatchObject({ line: 1, error: { origin: 'pool', name: 'TaskTimeoutError', code: 'ERR_TASK_TIMEOUT', taskId: 1 } });
    expect(records[1]).toEqual({ line: 2, result: { done: { ms: 1, id: 2 } } });
  });

  it('--timeout kills a worker whose task blocks its loop past the grace, and stderr says why (not "exited unexpectedly")', async () => {
    const name = uniqueName('hard');
    const run = await runCli(['run', fixture('blocks.mjs'), '--size', '1', '--timeout', '200', '--name', name], { input: '{"ms":30000}\n' });
    expect(run.code).toBe(1);
    expect(run.records()[0]).toMatchObject({ line: 1, error: { origin: 'pool', name: 'TaskTimeoutError', phase: 'hard' } });
    expect(run.stderr).toMatch(new RegExp(`^looppool ${name}: worker 0 \\(pid \\d+\\) was killed: a task blocked its event loop past its timeout \\(SIGKILL\\)$`, 'm'));
    await expectNoPoolLeft(name);
  });

  it('--start-timeout fails the start of a worker whose initialize() is not done in time: exit 3, no process left', async () => {
    const name = uniqueName();
    const run = await runCli(['run', fixture('slow-init.mjs'), '--size', '1', '--start-timeout', '300', '--name', name], { input: '1\n' });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/the pool could not start: .*it was not ready within startTimeout \(300 ms\)/);
    await expectNoPoolLeft(name);
  });

  it('--retries re-runs a task whose worker crashed; without it the task gets a WorkerCrashedError record', async () => {
    const input = '{"id":1,"crash":true}\n{"id":2}\n';
    const retried = await runCli(['run', fixture('crash-once.mjs'), '--size', '2', '--retries', '1', '--json-summary', '-'], { input });
    expect(retried.code).toBe(0);
    expect(retried.records().find((r) => r.line === 1)).toEqual({ line: 1, result: { id: 1, attempt: 2 } });
    // No restarts figure: the run may end, and cancel the replacement, before it is started.
    expect(JSON.parse(retried.stderr.trim().split('\n').at(-1) as string)).toMatchObject({ ok: 2, failed: 0 });
    const once = await runCli(['run', fixture('crash-once.mjs'), '--size', '2'], { input });
    expect(once.code).toBe(1);
    expect(once.records().find((r) => r.line === 1)?.error).toMatchObject({ origin: 'pool', name: 'WorkerCrashedError', code: 'ERR_WORKER_CRASHED', exitCode: 1 });
  });

  it('--max-tasks-per-worker replaces workers as they reach the limit, failing nothing', async () => {
    const run = await runCli(['run', fixture('echo.mjs'), '--size', '1', '--concurrency', '1', '--max-tasks-per-worker', '2', '--json-summary', '-'], { input: '1\n2\n3\n4\n5\n6\n' });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stderr.trim())).toMatchObject({ tasks: 6, ok: 6, restarts: 2 });
  });

  it('--statsd, --statsd-prefix and --report-interval send the pool metrics to statsd', async () => {
    const statsd = dgram.createSocket('udp4');
    const lines: string[] = [];
    statsd.on('message', (packet) => lines.push(...packet.toString().split('\n').filter(Boolean)));
    await new Promise<void>((resolve) => statsd.bind(0, '127.0.0.1', resolve));
    try {
      const port = (statsd.address() as AddressInfo).port;
      const run = await runCli(['run', fixture('sleep.mjs'), '--size', '1', '--name', 'flags', '--statsd', `127.0.0.1:${port}`, '--statsd-prefix', 'clitest', '--report-interval', '100'], {
        input: Array.from({ length: 10 }, (_, i) => `{"ms":60,"id":${i}}\n`).join(''),
      });
      expect(run.code).toBe(0);
      await expect.poll(() => lines.length).toBeGreaterThan(0);
      expect(lines.every((l) => l.startsWith('clitest.'))).toBe(true);
      expect(lines.some((l) => l.startsWith('clitest.flags.'))).toBe(true);
    } finally {
      statsd.close();
    }
  });

  it('--statsd that refuses every send: the tasks run, and the error is printed once for the pool, not once per process', async () => {
    const name = uniqueName();
    // UDP to the broadcast address fails at once (EACCES: the socket may not broadcast), with no DNS to wait for.
    const run = await runCli(['run', fixture('sleep.mjs'), '--size', '2', '--concurrency', '1', '--name', name, '--quiet', '--statsd', '255.255.255.255:8125', '--report-interval', '50'], {
      input: sleepTasks(10, 300), // 1.5 s: every process (the parent, both workers) fails about 30 sends
    });
    expect(run.code).toBe(0);
    expect(run.records()).toHaveLength(10);
    expect(run.stderr.match(/^looppool: statsd 255\.255\.255\.255:8125: .*EACCES.*\(reported once; later errors are not logged\)$/gm)).toHaveLength(1);
    await expectNoPoolLeft(name);
  });

  it('--max-memory-per-worker replaces a worker whose RSS passes the limit, failing nothing', async () => {
    const input = Array.from({ length: 10 }, () => '{"mb":40,"ms":300}\n').join('');
    const run = await runCli(['run', fixture('hog.mjs'), '--size', '1', '--concurrency', '1', '--max-memory-per-worker', '200M', '--json-summary', '-'], { input });
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stderr.trim().split('\n').at(-1) as string);
    expect(summary).toMatchObject({ tasks: 10, ok: 10 });
    expect(summary.restarts).toBeGreaterThanOrEqual(1);
    expect(new Set(run.records().map((r) => r.result.pid)).size).toBeGreaterThanOrEqual(2);
  });

  it('--blocked-threshold reports a blocked worker loop with the blocking function on stderr', async () => {
    const acks = createReportAcks(); // the worker's loop stays blocked until the report is seen
    try {
      const cli = startCli(['run', fixture('blocks.mjs'), '--size', '1', '--blocked-threshold', '300'], { input: '{"ms":1500}\n', env: acks.env });
      await cli.waitForStderr(/event loop blocked for/);
      acks.ack();
      const run = await cli.exit();
      expect(run.code).toBe(0);
      expect(cli.records()).toEqual([{ line: 1, result: 'spun' }]);
      expect(cli.stderr).toMatch(/worker 0 \(pid \d+\) event loop blocked for \d+ ms at\n\s+at spinForMilliseconds \(.*blocks\.mjs:\d+:\d+\)/);
    } finally {
      acks.remove();
    }
  });

  it('--sentry-dsn sends task errors to Sentry, and the DSN shows in no process title, record or message', async () => {
    const sentry = await startSentryEndpoint();
    const bodies = (): string[] => sentry.envelopes.map((e) => e.raw);
    try {
      const dsn = sentry.dsn.replace('publickey@', 'secretkey42@');
      const name = uniqueName('sentry');
      const cli = startCli(['run', fixture('fail.mjs'), '--size', '1', '--name', name, '--sentry-dsn', dsn], {
        input: '{"fail":true,"key":"k9"}\n',
        keepStdinOpen: true,
        env: { SENTRY_DSN: '' },
      });
      await cli.waitForRecords(1);
      await waitFor(() => bodies().some((b) => b.includes('no such key: k9')), 'the task error to reach Sentry');
      for (const pid of [cli.pid, ...workerPids(name)]) expect(readFileSync(`/proc/${pid}/cmdline`, 'latin1')).not.toContain('secretkey42');
      cli.child.stdin?.end();
      expect((await cli.exit()).code).toBe(1);
      expect(cli.stdout + cli.stderr).not.toContain('secretkey42');
    } finally {
      await sentry.close();
    }
  });
});
