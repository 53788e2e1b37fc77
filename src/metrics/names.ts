/**
 * Metric names and tags: the sanitising rules for the statsd line protocol and where the pool
 * name and the worker number go (in the path for plain statsd/Graphite, in tags for
 * DogStatsD/Telegraf). The worker number, never the pid, identifies a worker: pids change on
 * every restart and would create a new series each time.
 */

/** Tags as hot-shots takes them per call. */
export type MetricTags = Readonly<Record<string, string>>;

/** Where a reporter writes: a dot-separated name prefix (may be empty) and tags for every metric. */
export interface MetricScope {
  readonly prefix: string;
  readonly tags: MetricTags;
}

/**
 * One segment of a metric path (between dots): anything outside `[A-Za-z0-9_-]` becomes `_`,
 * so a pool name like `a.b` or `x:1|c` cannot add levels or inject a second metric.
 */
export function sanitizeSegment(segment: string): string {
  const clean = String(segment).replace(/[^A-Za-z0-9_-]/g, '_');
  return clean === '' ? '_' : clean;
}

/** A dotted metric path: each segment sanitised, empty segments dropped (`'a..b.'` → `'a.b'`). */
export function sanitizePath(path: string): string {
  return String(path)
    .split('.')
    .filter((segment) => segment !== '')
    .map(sanitizeSegment)
    .join('.');
}

/** A tag value: `[A-Za-z0-9_./-]` kept, anything else (`:`, `|`, `,`, `#`, `@`, `=`, spaces) becomes `_`. */
export function sanitizeTagValue(value: string): string {
  const clean = String(value).replace(/[^A-Za-z0-9_./-]/g, '_');
  return clean === '' ? '_' : clean;
}

/** Tags with keys and values sanitised for every tag syntax (DogStatsD `k:v`, Telegraf `k=v`). */
export function sanitizeTags(tags: MetricTags): MetricTags {
  return Object.fromEntries(Object.entries(tags).map(([key, value]) => [sanitizeSegment(key), sanitizeTagValue(value)]));
}

/** `prefix.name`, or `name` alone when the prefix is empty. */
export function joinName(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

/**
 * The scope of pool-level metrics (what the parent reports about the pool).
 * Plain: `<pool>.queued`; tagged: `queued` with the tag `pool:<pool>`.
 */
export function poolScope(pool: string, tagged: boolean): MetricScope {
  return tagged
    ? { prefix: '', tags: { pool: sanitizeTagValue(pool) } }
    : { prefix: sanitizeSegment(pool), tags: {} };
}

/**
 * The scope of one worker's metrics (reported by the worker itself or sampled by the parent).
 * Plain: `<pool>.worker.<n>.cpu`; tagged: `worker.cpu` with the tags `pool:<pool>`, `worker:<n>`.
 */
export function workerScope(pool: string, worker: number, tagged: boolean): MetricScope {
  return tagged
    ? { prefix: 'worker', tags: { pool: sanitizeTagValue(pool), worker: String(worker) } }
    : { prefix: `${sanitizeSegment(pool)}.worker.${worker}`, tags: {} };
}

/**
 * The scope of the parent process's own `ResourceReporter` (its CPU, memory and loop: the parent
 * dispatches every task, so its loop matters too).
 * Plain: `<pool>.parent.cpu`; tagged: `parent.cpu` with the tag `pool:<pool>`.
 */
export function parentScope(pool: string, tagged: boolean): MetricScope {
  return tagged
    ? { prefix: 'parent', tags: { pool: sanitizeTagValue(pool) } }
    : { prefix: `${sanitizeSegment(pool)}.parent`, tags: {} };
}
