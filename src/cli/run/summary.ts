/** The end-of-run summary, for people (stderr) and as JSON (`--json-summary`). */
import { count, formatMs, formatRate } from '../format.ts';
import type { RunSummary } from './run-stats.ts';

/** Two or three lines for stderr. */
export function formatSummary(name: string, s: RunSummary): string {
  const seconds = (s.elapsedMs / 1000).toFixed(1);
  const failures = Object.entries(s.failures)
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${key} ${n}`)
    .join(', ');
  const lines = [
    `looppool ${name}: ${count(s.tasks, 'task')} in ${seconds} s (${formatRate(s.throughput)}): ${s.ok} ok, ${s.failed} failed${failures ? ` (${failures})` : ''}` +
      (s.extras > 0 ? `, ${count(s.extras, 'extra result')}` : ''),
    `  wait p50 ${formatMs(s.waitMs.p50)}, p99 ${formatMs(s.waitMs.p99)} · run p50 ${formatMs(s.runMs.p50)}, p99 ${formatMs(s.runMs.p99)} · ${count(s.restarts, 'restart')}`,
  ];
  return `${lines.join('\n')}\n`;
}
