/** CPU and memory of processes, measured from outside with pidusage (reads /proc on Linux). */
import pidusage from 'pidusage';

/** One sample of a process. */
export interface Usage {
  /** Percent of one core since the previous sample of that pid (0 on the first). */
  readonly cpu: number;
  /** Resident set size in bytes. */
  readonly rss: number;
  /** Milliseconds since the process started. */
  readonly uptimeMs: number;
}

/**
 * Sample `pids`; pids that are gone are left out of the map, and so are those with no memory: a
 * process that is exiting (its memory already released) or a zombie, whose 0 B showed in `top`
 * and `ps` as if it were a figure. pidusage computes CPU from the previous call for the same pid,
 * so sample the same pids repeatedly for a live figure.
 */
export async function sampleUsage(pids: readonly number[]): Promise<Map<number, Usage>> {
  const out = new Map<number, Usage>();
  if (pids.length === 0) return out;
  let stats: Record<string, pidusage.Status | undefined>;
  try {
    // With one pid pidusage rejects when it is gone; with several it leaves it out.
    stats = pids.length === 1 ? { [String(pids[0])]: await pidusage(pids[0] as number) } : await pidusage([...pids]);
  } catch {
    return out;
  }
  for (const pid of pids) {
    const s = stats[String(pid)];
    if (s && s.memory > 0) out.set(pid, { cpu: s.cpu, rss: s.memory, uptimeMs: s.elapsed });
  }
  return out;
}

/** Sample twice `intervalMs` apart, so CPU is a current figure rather than 0. */
export async function measureUsage(pids: readonly number[], intervalMs = 250): Promise<Map<number, Usage>> {
  await sampleUsage(pids);
  await new Promise((resolve) => setTimeout(resolve, intervalMs));
  return sampleUsage(pids);
}

/** Forget pidusage's per-pid history and close the files it keeps open. */
export function forgetUsage(): void {
  pidusage.clear();
}
