import { describe, expect, it } from 'vitest';
import { formatConsumeSummary, type ConsumeSummary } from '../../src/cli/bullmq/consume-summary.ts';

const base: ConsumeSummary = {
  queue: 'images', jobs: 116, completed: 110, failed: 6, failures: { LookupError: 4, TypeError: 2 }, requeued: 0, leftActive: 0, extras: 0,
  written: 116, elapsedMs: 800, throughput: 145, waitMs: { p50: 12, p99: 40, max: 41 }, runMs: { p50: 47, p99: 49, max: 50 }, restarts: 1,
  signal: null, exitCode: 1,
};

describe("looppool run --bullmq's summary for people", () => {
  it('gives the counts, the failures by name, most first, and the latencies', () => {
    expect(formatConsumeSummary('extract', base)).toBe(
      'looppool extract: 116 jobs from queue images in 0.8 s (145/s): 110 completed, 6 failed (LookupError 4, TypeError 2), 0 requeued\n' +
        '  queue wait p50 12 ms, p99 40 ms · run p50 47 ms, p99 49 ms · 1 restart\n',
    );
  });

  it('says how many jobs it left active in Redis, when it left some', () => {
    const line = formatConsumeSummary('extract', { ...base, jobs: 0, completed: 0, failed: 0, failures: {}, leftActive: 3, extras: 2 }).split('\n')[0];
    expect(line).toMatch(/: 0 completed, 0 failed, 0 requeued, 3 left active, 2 extra results$/);
  });
});
