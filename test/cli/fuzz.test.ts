/**
 * Fuzzing `looppool run` end to end: seeded random hostile byte streams (invalid UTF-8, huge
 * lines, deep nesting, `__proto__` keys, CRLF, BOM, no final newline) written in random chunks.
 * The command must write exactly one record per non-blank line — the one the reference reader
 * predicts — exit 0 or 1, and leave Object.prototype untouched in its workers.
 */
import { describe, expect, it } from 'vitest';
import { expectNoPoolLeft, fixture, runCli, uniqueName } from './helpers.ts';
import { expectedRecords, randomChunks, randomInput, Random } from './random.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 5150);
const MAX = 512;

function check(records: Record<string, any>[], input: Buffer, mode: 'json' | 'lines', seed: number): void {
  const expected = expectedRecords(input, MAX, mode);
  const got = [...records].sort((a, b) => a.line - b.line);
  expect(got.map((r) => r.line), `seed ${seed}: one record per non-blank line`).toEqual(expected.map((e) => e.line));
  expected.forEach((e, i) => {
    const record = got[i] as Record<string, any>;
    if ('code' in e) expect(record.error?.code, `seed ${seed} line ${e.line}`).toBe(e.code);
    else expect(JSON.stringify(record.result), `seed ${seed} line ${e.line}`).toBe(JSON.stringify(e.task));
  });
}

describe('fuzz: looppool run on hostile byte streams', () => {
  it.each([0, 1, 2, 3, 4, 5])('seed %i: one record per non-blank line, chunking does not matter, no crash', async (offset) => {
    const seed = SEED + offset;
    const r = new Random(seed);
    const input = randomInput(r, 150, MAX);
    const name = uniqueName('fuzz');
    const run = await runCli(['run', fixture('echo.mjs'), '--size', '2', '--max-line-bytes', String(MAX), '--name', name, '-q'], {
      input: randomChunks(r, input, r.pick([1, 7, 100, 4096])),
    });
    expect([0, 1], `seed ${seed}: exit code (stderr: ${run.stderr})`).toContain(run.code);
    expect(run.stderr).toBe('');
    check(run.records(), input, 'json', seed);
    await expectNoPoolLeft(name);
  });

  it('--lines: the same stream as string tasks', async () => {
    const r = new Random(SEED + 100);
    const input = randomInput(r, 150, MAX);
    const run = await runCli(['run', fixture('echo.mjs'), '--size', '1', '--lines', '--max-line-bytes', String(MAX), '-q'], {
      input: randomChunks(r, input, 13),
    });
    expect([0, 1]).toContain(run.code);
    check(run.records(), input, 'lines', SEED + 100);
  });

  it('hostile payloads do not pollute Object.prototype in a worker that merges them naively', async () => {
    const r = new Random(SEED + 200);
    const lines = [
      '{"__proto__":{"polluted":1}}',
      '{"constructor":{"prototype":{"polluted":1}}}',
      '{"a":{"__proto__":{"polluted":1}}}',
      '{"\\u005f_proto__":{"polluted":1}}',
      ...Array.from({ length: 50 }, () => randomInput(r, 1, MAX).toString('latin1')),
    ];
    const run = await runCli(['run', fixture('proto-check.mjs'), '--size', '1', '--max-line-bytes', String(MAX), '-q'], { input: Buffer.from(`${lines.join('\n')}\n`, 'latin1') });
    expect([0, 1]).toContain(run.code);
    const results = run.records().filter((rec) => 'result' in rec);
    expect(results.length).toBeGreaterThan(0);
    for (const rec of results) expect(rec.result.polluted).toBe(false);
    const refused = run.records().filter((rec) => rec.error?.code === 'ERR_FORBIDDEN_KEY').map((rec) => rec.line);
    expect(refused).toEqual(expect.arrayContaining([1, 3, 4]));
  });
});
