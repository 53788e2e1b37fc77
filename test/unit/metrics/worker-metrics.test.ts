import { afterEach, describe, expect, it, vi } from 'vitest';
import { ResourceReporter } from '../../../src/metrics/resource-reporter.ts';
import { resolveStatsdOptions } from '../../../src/metrics/statsd.ts';
import { startWorkerMetrics } from '../../../src/metrics/worker-metrics.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('startWorkerMetrics', () => {
  it('close() sends the last report once: the exit that follows a stop closes again, and that sends nothing more', async () => {
    const report = vi.spyOn(ResourceReporter.prototype, 'report');
    const metrics = startWorkerMetrics({ statsd: resolveStatsdOptions({ mock: true }), pool: 'p', interval: 60_000 }, 0);
    const first = metrics.close(500);
    expect(metrics.close(500)).toBe(first);
    await first;
    await metrics.close(500);
    expect(report).toHaveBeenCalledOnce();
    expect(metrics.reporter.isRunning).toBe(false);
  });
});
