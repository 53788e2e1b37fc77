/**
 * `looppool run` as a user runs it: JSON lines in, one record per line out, the exit codes,
 * the worker module rules, and no process left behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, expectNoPoolLeft, fixture, ROOT, runCli, startCli, uniqueName, waitForControl, writerlessFifo } from './helpers.ts';

// Made before the first test, not at import: a run that filters out every test imports the
// file but runs none of its hooks, and the directory was left behind.
let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'looppool-cli-test-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Records sorted by line (output order is completion order unless --ordered). */
function byLine(records: Record<string, any>[]): Record<string, any>[] {
  return [...records].sort((a, b) => a.line - b.line);
}

describe('looppool run: records', () => {
  it('writes one record per non-blank line: results, and error records for lines that are not tasks', async () => {
    const name = uniqueName();
    const input = ['{"a":1}', '', '  ', 'not json', '"text"', '[1,{"b":null}]', '{"__proto__":{"polluted":1}}', '42'].join('\n');
    const run = await runCli(['run', fixture('echo.mjs'), '--size', '2', '--name', name], { input });
    expect(run.code).toBe(1); // two lines failed
    expect(byLine(run.records())).toEqual([
      { line: 1, result: { a: 1 } },
      { line: 4, error: { origin: 'input', name: 'InputError', code: 'ERR_INVALID_JSON', message: expect.stringContaining('Invalid JSON') } },
      { line: 5, result: 'text' },
      { line: 6, result: [1, { b: null }] },
      { line: 7, error: expect.objectContaining({ origin: 'input', code: 'ERR_FORBIDDEN_KEY' }) },
      { line: 8, result: 42 },
    ]);
    expect(run.stderr).toMatch(new RegExp(`looppool ${name}: 6 tasks .* 4 ok, 2 failed \\(InputError 2\\)`));
    await expectNoPoolLeft(name);
  });

  it("says why a replacement worker failed to start, not only that it exited", async () => {
    // Before: a restart loop printed "worker 0 (pid N) exited unexpectedly (exit code 1)" each time, never the error.
    const flag = path.join(tmp, `fails-to-restart-${uniqueName()}`);
    const name = uniqueName('restart');
    const cli = startCli(['run', fixture('fails-to-restart.mjs'), '--size', '1', '--name', name], { input: '{"id":1}\n', keepStdinOpen: true, env: { FAILS_TO_RESTART_FLAG: flag } });
    await cli.waitForStderr(new RegExp(`^looppool ${name}: worker 0 \\(pid \\d+\\) failed to start \\(initialize\\): Error: the database is down$`, 'm'));
    expect(cli.stderr).toMatch(new RegExp(`^looppool ${name}: worker 0 \\(pid \\d+\\) exited unexpectedly \\(exit code 1\\)$`, 'm')); // the task's own exit
    cli.child.stdin?.end();
    expect((await cli.exit()).code).toBe(1);
    await expectNoPoolLeft(name);
  });

  it('exits 0 when every task succeeds, and says so in the summary', async () => {
    const run = await runCli(['run', fixture('echo.mjs'), '--size', '1'], { input: '1\n2\n3\n' });
    expect(run.code).toBe(0);
    expect(byLine(run.records()).map((r) => r.result)).toEqual([1, 2, 3]);
    expect(run.stderr).toMatch(/3 tasks in .* 3 ok, 0 failed/);
    expect(run.stderr).toMatch(/wait p50 .* run p50 .* 0 restarts/);
  });

  it('counts one task in the singular in the summary', async () => {
    const run = await runCli(['run', fixture('echo.mjs'), '--size', '1'], { input: '1\n' });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/: 1 task in .* 1 ok, 0 failed/);
  });

  it('gives an over-long line an error record and carries on with the next line', async () => {
    const long = `"${'x'.repeat(5000)}"`;
    const run = await runCli(['run', fixture('echo.mjs'), '--size', '1', '--max-line-bytes', '1K'], { input: `1\n${long}\n3\n` });
    expect(run.code).toBe(1);
    const records = byLine(run.records());
    expect(records.map((r) => r.line)).toEqual([1, 2, 3]);
    expect(records[1]).toMatchObject({ line: 2, error: { origin: 'input', code: 'ERR_LINE_TOO_LONG' } });
    expect(records[1]?.error.message).toContain('5002 bytes');
    expect(records[2]).toEqual({ line: 3, result: 3 });
  });

  it('keeps input order with --ordered, whatever order tasks finish in', async () => {
    const tasks = [300, 10, 200, 0, 100, 50].map((ms, i) => JSON.stringify({ ms, id: i + 1 })).join('\n');
    const run = await runCli(['run', fixture('sleep.mjs'), '--size', '2', '--ordered'], { input: tasks });
    expect(run.code).toBe(0);
    expect(run.records().map((r) => r.line)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(run.records().map((r) => r.result.done.id)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('writes the worker error of a failed task: its name, message, code and own properties', async () => {
    const run = await runCli(['run', fixture('fail.mjs'), '--size', '1'], { input: '{"fail":true,"key":"k1"}\n{"ok":1}\n' });
    expect(run.code).toBe(1);
    expect(byLine(run.records())).toEqual([
      { line: 1, error: { origin: 'task', name: 'LookupError', message: 'no such key: k1', code: 'E_NOT_FOUND', key: 'k1' } },
      { line: 2, result: { ok: 1 } },
    ]);
    expect(run.stderr).toContain('1 failed (LookupError 1)');
  });

  it('marks results streamed with putResult as extra, tied to their line or not', async () => {
    const run = await runCli(['run', fixture('streams.mjs'), '--size', '1', '--ordered'], { input: '2\n0\n' });
    expect(run.code).toBe(0);
    const records = run.records();
    expect(records.filter((r) => 'line' in r)).toEqual([
      { line: 1, extra: { i: 0 } },
      { line: 1, extra: { i: 1 } },
      { line: 1, result: 'done' },
      { line: 2, result: 'done' },
    ]);
    expect(records.filter((r) => !('line' in r))).toEqual([{ extra: { untied: 2 } }, { extra: { untied: 0 } }]);
  });

  it('takes each line as a string task with --lines', async () => {
    const run = await runCli(['run', fixture('echo.mjs'), '--size', '1', '--lines', '--ordered'], { input: 'src/a.ts\r\nnot json {\n\nb c\n' });
    expect(run.code).toBe(0);
    expect(run.records()).toEqual([
      { line: 1, result: 'src/a.ts' },
      { line: 2, result: 'not json {' },
      { line: 4, result: 'b c' },
    ]);
  });

  it('reads --input, writes --output and --json-summary files', async () => {
    const input = path.join(tmp, 'in.jsonl');
    const output = path.join(tmp, 'out.jsonl');
    const summary = path.join(tmp, 'summary.json');
    writeFileSync(input, '{"ms":1,"id":1}\n{"ms":1,"id":2}\nbad\n');
    const run = await runCli(['run', fixture('sleep.mjs'), '--size', '1', '--input', input, '--output', output, '--json-summary', summary, '--ordered']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(readFileSync(output, 'utf8').trim().split('\n').map((l) => JSON.parse(l).line)).toEqual([1, 2, 3]);
    const s = JSON.parse(readFileSync(summary, 'utf8'));
    expect(s).toMatchObject({ tasks: 3, ok: 2, failed: 1, failures: { InputError: 1 }, written: 3, restarts: 0, signal: null, exitCode: 1, lastLineStarted: 3, stoppedEarly: false });
    expect(s.runMs).toEqual({ p50: expect.any(Number), p99: expect.any(Number), max: expect.any(Number) });
  });

  it('reads an --input FIFO whose writer comes after the start: its lines, then the end of input when it closes', async () => {
    const name = uniqueName();
    const fifo = writerlessFifo();
    const cli = startCli(['run', fixture('echo.mjs'), '--size', '1', '--name', name, '--input', fifo.path]);
    await waitForControl(cli.pid); // started and reading, with no writer yet: that is no end of input
    fifo.writeAndClose('1\n2\n3\n');
    expect((await cli.exit()).code).toBe(0);
    expect(byLine(cli.records())).toEqual([1, 2, 3].map((n) => ({ line: n, result: n })));
    await expectNoPoolLeft(name);
  });

  it('workers that log on stderr live on when its reader goes away (EPIPE, like 2>&1 | head -1)', async () => {
    const name = uniqueName();
    const output = path.join(tmp, 'logs.jsonl');
    const lines = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, i) => `${from + i}\n`).join('');
    const cli = startCli(['run', fixture('logs.mjs'), '--size', '2', '--name', name, '--output', output], { input: lines(1, 100), keepStdinOpen: true });
    await cli.waitForStderr(/working on/);
    cli.child.stderr?.destroy(); // what `head -1` does after its line
    cli.child.stdin?.end(lines(101, 2000)); // every one of these tasks logs to a stderr nobody reads
    expect((await cli.exit()).code).toBe(0);
    const records = readFileSync(output, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    expect(records).toHaveLength(2000);
    expect(records.filter((r) => !('result' in r))).toEqual([]); // no WorkerCrashedError
    await expectNoPoolLeft(name);
  });

  it('counts the records the output took: every one (extras too) after a whole run, none when the output cannot be written (ENOSPC)', async () => {
    // Before: a run whose every write failed (a full disk) said 50 ok and lastLineStarted 50 in its
    // summary, as if every line up to 50 had its record, and gave no count of the records written.
    const streamed = path.join(tmp, 'streamed.json');
    const whole = await runCli(['run', fixture('streams.mjs'), '--size', '1', '--json-summary', streamed], { input: '2\n3\n' });
    expect(whole.code).toBe(0);
    const ok = JSON.parse(readFileSync(streamed, 'utf8'));
    // Each task streams as many results as it says and one outside any task: 3 and 4 extras.
    expect(ok).toMatchObject({ tasks: 2, ok: 2, extras: 7, written: 9 });
    expect(whole.stdout.trim().split('\n')).toHaveLength(9);

    const full = path.join(tmp, 'full.json');
    const lines = Array.from({ length: 50 }, (_, i) => `${i + 1}\n`).join('');
    const failed = await runCli(['run', fixture('echo.mjs'), '--size', '1', '--lines', '--output', '/dev/full', '--json-summary', full], { input: lines });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('cannot write the output: ENOSPC');
    expect(JSON.parse(readFileSync(full, 'utf8'))).toMatchObject({ written: 0, exitCode: 1 });
  });

  it('prints the JSON summary on stderr instead of the text with --json-summary -', async () => {
    const run = await runCli(['run', fixture('echo.mjs'), '--size', '1', '--json-summary', '-'], { input: '1\n' });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stderr.trim())).toMatchObject({ tasks: 1, ok: 1, failed: 0, exitCode: 0 });
  });

  it('hands --worker-data to the workers and runs a TypeScript worker', async () => {
    const worker = fixture('info.ts');
    const run = await runCli(['run', worker, '--size', '1', '--worker-data', '{"db":"x"}', '--name', 'wd'], { input: 'null\n' });
    expect(run.code).toBe(0);
    expect(run.records()[0]?.result).toMatchObject({ workerData: { db: 'x' }, poolName: 'wd', title: 'looppool wd worker 0' });
  });

  it('never echoes the Sentry DSN in its messages', async () => {
    const dsn = 'https://secret-key-1234@sentry.example/42';
    const run = await runCli(['run', fixture('echo.mjs'), '--size', '1', '--sentry-dsn', dsn, '--name', 'has:colon'], { input: '1\n' });
    expect(run.code).toBe(2);
    expect(run.stdout + run.stderr).not.toContain('secret-key-1234');
  });
});

describe('looppool run: exit codes 2 and 3', () => {
  it.each([
    ['a missing file', 'does-not-exist.mjs', /Worker module not found: .*does-not-exist\.mjs/],
    ['a directory', 'test/fixtures/cli', /not a file/],
    ['a data: URL', 'data:text/javascript,export default 1', /must be a file path/],
    ['an https: URL', 'https://example.com/worker.js', /must be a file path/],
    ['a node: specifier', 'node:fs', /must be a file path/],
    ['a file: URL', `file://${fixture('echo.mjs')}`, /must be a file path/],
    ['a bare package name', 'lodash', /package names are not resolved/],
    ['a file that is not JavaScript', 'package.json', /must end in/],
  ])('refuses %s as the worker module (2), without starting anything', async (_what, module, message) => {
    const run = await runCli(['run', module], { input: '1\n' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });

  it.each([
    ['exports no Worker', 'no-worker.mjs', /failed to load: .*must export a Worker subclass/],
    ['does not parse', 'syntax-error.mjs', /failed to load: .*SyntaxError/],
    ['throws while being imported', 'import-throws.mjs', /failed to load: .*module top-level failure/],
  ])('exits 2 when the module %s, and leaves no process', async (_what, file, message) => {
    const name = uniqueName();
    const run = await runCli(['run', fixture(file), '--size', '2', '--name', name], { input: '1\n' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
    await expectNoPoolLeft(name);
  });

  // Before: a CommonJS module's printed only "SyntaxError: Unexpected token ';'" (the place was in
  // its error's stack, which was not printed), and an ES module's its file and line, no column nor caret.
  it.each([
    ['an ES module', 'syntax-error-line.mjs', ':4:25\n  return task * factor +;\n                        ^\n'],
    ['a .cjs module', 'syntax-error.cjs', ':5:18\n    return task *;\n                 ^\n'],
    ['a .js module of a "type": "commonjs" package', 'commonjs/syntax-error.js', ':4:25\n  return task * factor +;\n                        ^\n'],
    ['an ES module that ends too soon (no column)', 'syntax-error.mjs', ':3\n'],
  ])('shows where %s does not parse, as Node does (file:line:column, the line, a caret), and no stack', async (_what, file, place) => {
    const run = await runCli(['run', fixture(file), '--size', '1'], { input: '1\n' });
    expect(run.code).toBe(2);
    const [first, ...rest] = run.stderr.split('\n');
    // The place once, on the lines after (an ES module's message, which API users see, holds it too: before, it was printed twice).
    expect(first).toMatch(/the worker module failed to load: .*SyntaxError: Unexpected (token ';'|end of input)$/);
    expect(rest.join('\n')).toBe(`${fixture(file)}${place}`);
  });

  it('prints an ordinary start failure as its message alone, without its stack', async () => {
    const run = await runCli(['run', fixture('import-throws.mjs'), '--size', '1'], { input: '1\n' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^looppool import-throws: the worker module failed to load: .*Error: module top-level failure\n$/);
  });

  it('refuses --output naming the input file (by any path, or on stdin): exit 2, the input left whole', async () => {
    const input = path.join(tmp, 'same.jsonl');
    writeFileSync(input, '1\n2\n3\n');
    const link = path.join(tmp, 'same-link.jsonl');
    symlinkSync(input, link);
    for (const [inputArgs, output] of [
      [['--input', input], input],
      [['--input', input], link],
      [['--input', link], path.relative(ROOT, input)],
    ] as const) {
      const run = await runCli(['run', fixture('echo.mjs'), ...inputArgs, '--output', output]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/--output .*same(-link)?\.jsonl is the input file: opening it for the records would empty it before its tasks are read/);
      expect(readFileSync(input, 'utf8')).toBe('1\n2\n3\n');
    }
    const stdin = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" run "${fixture('echo.mjs')}" --output "${link}" < "${input}"`], { encoding: 'utf8', timeout: 30_000 });
    expect(stdin.status).toBe(2);
    expect(stdin.stderr).toMatch(/is the input file/);
    expect(readFileSync(input, 'utf8')).toBe('1\n2\n3\n');
  });

  // Opened for the records, the worker's own code was emptied before a worker loaded it (exit 2, the file lost).
  it('refuses --output naming the worker module (by any path): exit 2, the module left whole', async () => {
    const code = 'export default async function double(task) {\n  return task * 2;\n}\n';
    const worker = path.join(tmp, 'double.mjs');
    writeFileSync(worker, code);
    const link = path.join(tmp, 'double-link.mjs');
    symlinkSync(worker, link);
    for (const [module, output] of [
      [worker, worker],
      [worker, link],
      [link, path.relative(ROOT, worker)],
    ] as const) {
      const run = await runCli(['run', module, '--size', '1', '--output', output], { input: '1\n' });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/--output .*double(-link)?\.mjs is the worker module: opening it for the records would empty it before the workers load it/);
      expect(readFileSync(worker, 'utf8')).toBe(code);
    }
  });

  // Written at the end, the summary replaced the records or the tasks, and the run exited 0.
  it('refuses a --json-summary that is the --output or the input file (by any path, or on stdin): exit 2, both left whole', async () => {
    const input = path.join(tmp, 'tasks.jsonl');
    const output = path.join(tmp, 'records.jsonl');
    const link = path.join(tmp, 'tasks-link.jsonl');
    writeFileSync(input, '1\n2\n3\n');
    writeFileSync(output, 'earlier records\n');
    symlinkSync(input, link);
    for (const [args, why] of [
      [['--input', input, '--output', output, '--json-summary', output], 'it is the --output file'],
      [['--input', input, '--output', path.relative(ROOT, output), '--json-summary', output], 'it is the --output file'],
      [['--input', input, '--json-summary', link], 'it is the input file'],
    ] as const) {
      const run = await runCli(['run', fixture('echo.mjs'), '--size', '1', ...args]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`Cannot write --json-summary .*: ${why}`));
    }
    const stdin = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" run "${fixture('echo.mjs')}" --size 1 --json-summary "${link}" < "${input}"`], { encoding: 'utf8', timeout: 30_000 });
    expect(stdin.status).toBe(2);
    expect(stdin.stderr).toMatch(/Cannot write --json-summary .*: it is the input file/);
    expect(readFileSync(input, 'utf8')).toBe('1\n2\n3\n');
    expect(readFileSync(output, 'utf8')).toBe('earlier records\n');
  });

  // Read, a directory fails with EISDIR, which the command took for an empty input: 0 tasks, exit 0.
  it('refuses a directory on stdin (2), as it refuses one as --input', async () => {
    const run = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" run "${fixture('echo.mjs')}" --size 1 --json-summary - < "${tmp}"`], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/stdin is a directory/);
    expect(run.stdout).toBe('');
  });

  // --quiet silences notices, not errors: the run exited 1 with nothing said.
  it('says why it could not read the input even with --quiet', async () => {
    const run = await runCli(['run', fixture('echo.mjs'), '--size', '1', '--quiet', '--input', '/proc/self/mem']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot read the input: EIO/);
  });

  it('refuses an unwritable --json-summary at the start (2), before running anything', async () => {
    for (const [summary, why] of [
      [path.join(tmp, 'no-such-dir', 's.json'), /no directory .*no-such-dir/],
      [tmp, /it is a directory/],
    ] as const) {
      const name = uniqueName();
      const run = await runCli(['run', fixture('echo.mjs'), '--name', name, '--json-summary', summary], { input: '1\n' });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`Cannot write --json-summary ${summary.replace(/[.]/g, '\\.')}: ${why.source}`));
      expect(run.stdout).toBe(''); // no task ran
      await expectNoPoolLeft(name);
    }
  });

  it('creates a writable --json-summary only at the end: a run stopped before leaves no empty file', async () => {
    const summary = path.join(tmp, 'later.json');
    const cli = startCli(['run', fixture('echo.mjs'), '--size', '1', '--json-summary', summary], { input: '1\n', keepStdinOpen: true });
    await cli.waitForRecords(1);
    expect(existsSync(summary)).toBe(false);
    cli.child.stdin?.end('2\n');
    expect((await cli.exit()).code).toBe(0);
    expect(JSON.parse(readFileSync(summary, 'utf8'))).toMatchObject({ tasks: 2, ok: 2 });
  });

  it('exits 3 when initialize() fails, and leaves no process', async () => {
    const name = uniqueName();
    const run = await runCli(['run', fixture('init-throws.mjs'), '--size', '2', '--name', name], { input: '1\n' });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/the pool could not start: .*database unreachable/);
    await expectNoPoolLeft(name);
  });

  // It wrote none: the file of an earlier run stayed, for a supervisor to read as this run's.
  it.each([
    ['its module fails to load (2)', 'import-throws.mjs', 2],
    ['its pool cannot start (3)', 'init-throws.mjs', 3],
  ])('writes --json-summary when the run ends as %s', async (_what, file, exitCode) => {
    const summary = path.join(tmp, `start-${exitCode}.json`);
    writeFileSync(summary, '{"tasks":500,"exitCode":0}\n'); // an earlier run's
    const name = uniqueName();
    const run = await runCli(['run', fixture(file), '--size', '1', '--name', name, '--json-summary', summary], { input: '1\n' });
    expect(run.code).toBe(exitCode);
    expect(JSON.parse(readFileSync(summary, 'utf8'))).toMatchObject({ tasks: 0, ok: 0, failed: 0, written: 0, stoppedEarly: true, signal: null, exitCode });
    const stderrJson = await runCli(['run', fixture(file), '--size', '1', '--name', name, '--json-summary', '-'], { input: '1\n' });
    expect(JSON.parse(stderrJson.stderr.split('\n').find((l) => l.startsWith('{')) ?? 'null')).toMatchObject({ tasks: 0, exitCode });
    await expectNoPoolLeft(name);
  });

  it.each([
    [['--size', '0'], /--size must be an integer from 1 to 1024, got "0"/],
    // A pool too big to fork (a typo) is a usage error; the missing --input keeps an unchecked size from starting it.
    [['--size', '1025', '--input', 'no-such-input.jsonl'], /--size must be an integer from 1 to 1024, got "1025"/],
    [['--concurrency', 'lots'], /--concurrency must be an integer/],
    [['--timeout', '3000000000'], /--timeout must be at most 2147483647 \(ms, about 24.8 days\)/],
    [['--worker-data', '{oops'], /--worker-data must be JSON/],
    [['--worker-data', '{"__proto__":{}}'], /--worker-data must be JSON: .*__proto__/],
    [['--statsd', 'host:notaport'], /--statsd must be host:port/],
    [['--statsd-prefix', 'x'], /--statsd-prefix needs --statsd/],
    [['--max-line-bytes', '1T'], /--max-line-bytes must be from 1 to/],
    // A byte count is whole: 0.5 was taken as 1, 1.3K as 1331.
    [['--max-line-bytes', '0.5'], /--max-line-bytes must be a size in bytes/],
    [['--max-memory-per-worker', '1.3K'], /--max-memory-per-worker must be a size in bytes/],
    // The pool's least is 50 ms: the message said ">= 1" and then refused 1 to 49 in the pool's words.
    [['--blocked-threshold', '49'], /--blocked-threshold must be an integer >= 50, got "49"/],
    [['--name', 'bad name'], /--name must be/],
    [['--input', 'no-such-input.jsonl'], /Input file not found/],
    [['--frobnicate'], /unknown option '--frobnicate'/],
  ])('exits 2 for bad usage %j', async (flags, message) => {
    const run = await runCli(['run', fixture('echo.mjs'), ...flags], { input: '1\n' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('does not count a UTF-8 byte-order mark toward --max-line-bytes (a longer line still fails)', async () => {
    const run = await runCli(['run', fixture('echo.mjs'), '--size', '1', '--max-line-bytes', '10'], { input: '\uFEFF"12345678"\n"123456789"\n' });
    expect(run.code).toBe(1);
    expect(run.records().sort((a, b) => a.line - b.line)).toEqual([
      { line: 1, result: '12345678' },
      { line: 2, error: expect.objectContaining({ code: 'ERR_LINE_TOO_LONG', message: 'The line has 11 bytes, more than --max-line-bytes (10)' }) },
    ]);
  });

  it('takes a worker path relative to the current directory, and a task line naming a module has no effect', async () => {
    const run = await runCli(['run', 'fixtures/cli/echo.mjs', '--size', '1'], { cwd: path.join(ROOT, 'test'), input: '{"module":"data:text/javascript,process.exit(9)"}\n' });
    expect(run.code).toBe(0);
    expect(run.records()).toEqual([{ line: 1, result: { module: 'data:text/javascript,process.exit(9)' } }]);
  });
});

describe('looppool --help', () => {
  it.each([[[]], [['run']], [['ps']], [['top']], [['stop']]])('shows the options and an example for %j', async (command) => {
    const run = await runCli([...command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage: looppool/);
    expect(run.stdout).toMatch(/Examples:\n {2}\$ .*looppool /);
  });

  it('names the manual page by its path in the installed package, wherever the command runs', async () => {
    const run = await runCli(['--help'], { cwd: os.tmpdir() });
    const page = /^Manual: (.+)$/m.exec(run.stdout)?.[1];
    expect(page).toBe(path.join(ROOT, 'manual/cli.md'));
    expect(existsSync(page as string)).toBe(true);
  });

  it('prints the version', async () => {
    const run = await runCli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });
});
