/** One screen of `looppool top`: every pool's process tree plus what its control channel says. */
import type { ControlEvent, ControlStats } from '../../control/index.ts';
import { columns, count, cutToWidth, formatBytes, formatDuration, formatMs, formatRate } from '../format.ts';
import type { LivePool } from '../proc/pool-view.ts';
import { poolLabel } from '../proc/pools.ts';

const KNOWN_WORKER_FIELDS = new Set(['worker', 'pid', 'state', 'inFlight', 'done', 'failed']);
const KNOWN_POOL_FIELDS = new Set([
  'name', 'pid', 'startedAt', 'uptimeMs', 'throughput', 'loopDelay', 'details', 'state', 'healthy', 'size', 'queued', 'inFlight',
  'done', 'failed', 'restarts', 'workers',
]);

interface LiveWorker {
  readonly worker: number;
  readonly pid: number;
  readonly state?: string;
  readonly inFlight?: number;
  readonly done?: number;
  readonly failed?: number;
  readonly [key: string]: unknown;
}

export interface TopEvent {
  readonly pool: string;
  readonly event: ControlEvent;
}

/** The lines of one frame. */
export function renderTop(pools: readonly LivePool[], events: readonly TopEvent[], now: Date, intervalMs: number, target?: string): string[] {
  const lines = [
    `looppool top · ${count(pools.length, 'pool')} · ${now.toTimeString().slice(0, 8)} · every ${formatDuration(intervalMs)} · q quits`,
    '',
  ];
  if (pools.length === 0) lines.push(target === undefined ? 'No looppool pools are running.' : `No looppool pool matches ${JSON.stringify(target)}.`);
  for (const pool of pools) lines.push(...renderPool(pool), '');
  if (events.length > 0) {
    lines.push('recent events:');
    for (const { pool, event } of events) lines.push(`  ${event.at.slice(11, 19)}  ${pool}  ${describeEvent(event)}`);
  }
  return lines;
}

function renderPool(pool: LivePool): string[] {
  const head = `${poolLabel(pool)}  pid ${pool.pid}  ${pool.command}${pool.orphaned ? '  [orphaned]' : ''}`;
  // A pool with a channel that did not answer in time (its parent stopped or busy) still has one: `ps` lists it.
  const silent = pool.control === null ? 'no control channel' : 'its control channel did not answer';
  const summary = pool.live ? `  ${poolSummary(pool.live).join(' · ')}` : `  (${silent}: process figures only)`;
  return [head, summary, ...columns(workerRows(pool))];
}

/** What the pool's control channel says of the whole pool. */
function poolSummary(live: ControlStats): string[] {
  const n = (key: string): number => (typeof live[key] === 'number' ? (live[key] as number) : 0);
  const parts = [
    String(live.state),
    `queue ${n('queued')}`,
    `in flight ${n('inFlight')}`,
    `done ${n('done')}`,
    `failed ${n('failed')}`,
    formatRate(live.throughput),
    `restarts ${n('restarts')}`,
    `loop p99 ${formatMs(live.loopDelay.p99)}`,
  ];
  if (live.healthy === false) parts.splice(1, 0, 'UNHEALTHY');
  for (const [key, value] of Object.entries(live)) if (!KNOWN_POOL_FIELDS.has(key) && typeof value === 'number') parts.push(`${key} ${value}`);
  const details = live.details as { input?: { read?: number; started?: number; total?: number | null }; bullmq?: Record<string, unknown> } | undefined;
  if (details?.input) parts.push(inputPart(details.input));
  const q = details?.bullmq;
  if (q) parts.push(`queue ${String(q.queue)}: ${Number(q.active)} active, ${Number(q.completed)} completed, ${Number(q.failed)} failed, ${Number(q.requeued)} requeued`);
  return parts;
}

/**
 * How far `looppool run` is through its input: the lines started (a line read but waiting for a
 * free slot is not: "11/40" while 10 had started misled), or read, from a run that does not say.
 */
function inputPart(input: { read?: number; started?: number; total?: number | null }): string {
  const total = input.total ? `/${input.total}` : '';
  return input.started === undefined ? `input ${input.read ?? 0}${total} lines read` : `input ${input.started}${total} lines started`;
}

/** The table of the parent and its workers: process figures, plus what the control channel says of each. */
function workerRows(pool: LivePool): string[][] {
  const liveWorkers = new Map<number, LiveWorker>();
  for (const w of (pool.live?.workers as LiveWorker[] | undefined) ?? []) liveWorkers.set(w.pid, w);
  const rows: string[][] = [['  WORKER', 'PID', 'STATE', 'IN FLIGHT', 'DONE', 'FAILED', 'CPU%', 'RSS', 'UPTIME', '']];
  rows.push(['  parent', String(pool.pid), '-', '-', '-', '-', cpu(pool.cpuPercent), formatBytes(pool.rssBytes ?? undefined), formatDuration(pool.uptimeMs ?? undefined), '']);
  for (const w of pool.workers) {
    const l = liveWorkers.get(w.pid);
    rows.push([
      `  ${w.worker}`,
      String(w.pid),
      w.state === 'booting' ? 'booting' : l?.state ?? '-', // no title yet: says more than the channel's 'starting'
      l?.inFlight === undefined ? '-' : String(l.inFlight),
      l?.done === undefined ? '-' : String(l.done),
      l?.failed === undefined ? '-' : String(l.failed),
      cpu(w.cpuPercent),
      formatBytes(w.rssBytes ?? undefined),
      formatDuration(w.uptimeMs ?? undefined),
      l ? extraFields(l) : '',
    ]);
  }
  return rows;
}

/** Numeric fields a newer pool reports per worker (loop delay, blocked loops…), shown as they come. */
function extraFields(worker: LiveWorker): string {
  return Object.entries(worker)
    .filter(([key, value]) => !KNOWN_WORKER_FIELDS.has(key) && (typeof value === 'number' || typeof value === 'string'))
    .map(([key, value]) => `${key} ${typeof value === 'number' ? Math.round(value * 100) / 100 : value}`)
    .join('  ');
}

function describeEvent(event: ControlEvent): string {
  const d = (event.data ?? {}) as Record<string, unknown>;
  const who = `worker ${String(d.worker ?? '?')} (pid ${String(d.pid ?? '?')})`;
  switch (event.event) {
    case 'workerStart':
      return `${who} started`;
    case 'workerExit':
      return `${who} exited (${d.signal ? String(d.signal) : `exit code ${String(d.exitCode)}`}${d.expected ? '' : ', unexpected'})`;
    case 'loopBlocked':
      return `${who} loop blocked ${String(d.blockedMs)} ms${blockedAt(d.frames, d.stackUnavailable)}`;
    case 'workerError': {
      // (error, info): the error as its name, code and message
      const [error, info] = Array.isArray(event.data) ? (event.data as Record<string, unknown>[]) : [];
      if (!error || !info) break;
      return cutToWidth(`worker ${String(info.worker)} (pid ${String(info.pid)}) ${String(info.origin)}: ${String(error.name)}: ${String(error.message)}`, 200);
    }
  }
  return `${event.event} ${cutToWidth(JSON.stringify(event.data), 200)}`;
}

/** ` in fn (file:line)` for a blocked loop's innermost frame, or why there is none. */
function blockedAt(frames: unknown, unavailable: unknown): string {
  const top = Array.isArray(frames) ? (frames[0] as { functionName?: unknown; url?: unknown; line?: unknown } | undefined) : undefined;
  if (top === undefined) return typeof unavailable === 'string' ? ` (no stack: ${unavailable})` : '';
  const file = typeof top.url === 'string' ? top.url.slice(top.url.lastIndexOf('/') + 1) : '?';
  return ` in ${typeof top.functionName === 'string' && top.functionName !== '' ? top.functionName : '<anonymous>'} (${file}:${String(top.line)})`;
}

function cpu(value: number | null): string {
  return value === null ? '-' : value.toFixed(1);
}
