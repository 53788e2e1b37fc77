/** `--json-summary`'s checks at the start of `looppool run` (no process: the check alone). */
import { linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSummaryFile } from '../../src/cli/run/summary-file.ts';

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'looppool-summary-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('--json-summary at the start', () => {
  // Written at the end, the summary replaced the worker's code (`--json-summary worker.mjs`, a slip).
  it('refuses the worker module, by its path or another hard link, and leaves it whole', () => {
    const worker = path.join(tmp, 'worker.mjs');
    writeFileSync(worker, 'export default class {}\n');
    const link = path.join(tmp, 'also-worker.mjs');
    linkSync(worker, link);
    expect(() => checkSummaryFile('worker.mjs', tmp, { worker })).toThrow(`Cannot write --json-summary ${worker}: it is the worker module`);
    expect(() => checkSummaryFile(link, tmp, { worker })).toThrow(/it is the worker module/);
    expect(readFileSync(worker, 'utf8')).toBe('export default class {}\n');
  });

  it('takes a new file, or one that is neither the output nor the worker', () => {
    const other = path.join(tmp, 'summary.json');
    expect(() => checkSummaryFile(other, tmp, { worker: path.join(tmp, 'worker.mjs'), output: 'records.jsonl' })).not.toThrow();
    writeFileSync(other, '{}');
    expect(() => checkSummaryFile(other, tmp, { worker: path.join(tmp, 'worker.mjs'), output: 'records.jsonl' })).not.toThrow();
    expect(() => checkSummaryFile('-', tmp, { output: '-' })).not.toThrow(); // stderr and stdout
  });
});
