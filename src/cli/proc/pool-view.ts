/** Pools with their measured CPU, memory and uptime: what `ps --json` prints and `top` draws. */
import type { ControlStats } from '../../control/index.ts';
import type { FoundPool, WorkerState } from './pools.ts';
import type { Usage } from './usage.ts';

export interface ProcessView {
  readonly pid: number;
  /** Percent of one core; null when the process could not be measured (gone, or not ours). */
  readonly cpuPercent: number | null;
  readonly rssBytes: number | null;
  readonly uptimeMs: number | null;
}

export interface WorkerView extends ProcessView {
  readonly worker: number;
  /** `booting` until looppool's code runs in it and sets its title, then `started` (see pools.ts). */
  readonly state: WorkerState;
}

/** One pool as `looppool ps --json` prints it. */
export interface PoolView extends ProcessView {
  readonly name: string;
  /** 1, or the pool's number among the pools its process gave that name (`<name>@<instance>` in `ps`). */
  readonly instance: number;
  readonly command: string;
  readonly cli: boolean;
  readonly orphaned: boolean;
  readonly uid: number;
  /** Control socket path, or null. */
  readonly control: string | null;
  readonly workers: readonly WorkerView[];
}

/** Join found pools with usage samples. */
export function viewPools(pools: readonly FoundPool[], usage: ReadonlyMap<number, Usage>): PoolView[] {
  const measure = (pid: number): ProcessView => {
    const u = usage.get(pid);
    return { pid, cpuPercent: u ? Math.round(u.cpu * 10) / 10 : null, rssBytes: u?.rss ?? null, uptimeMs: u?.uptimeMs ?? null };
  };
  return pools.map((p) => ({
    name: p.name,
    instance: p.instance,
    // An orphaned pool's pid is its parent's, gone: a process of that pid now is not measured.
    ...(p.orphaned ? { pid: p.pid, cpuPercent: null, rssBytes: null, uptimeMs: null } : measure(p.pid)),
    command: p.command,
    cli: p.cli,
    orphaned: p.orphaned,
    uid: p.uid,
    control: p.control ?? null,
    workers: p.workers.map((w) => ({ worker: w.worker, ...measure(w.pid), state: w.state })),
  }));
}

/** Every pid of these pools (parents and workers). */
export function poolPids(pools: readonly FoundPool[]): number[] {
  return pools.flatMap((p) => [...(p.orphaned ? [] : [p.pid]), ...p.workers.map((w) => w.pid)]).filter((pid) => pid > 1);
}

/** A pool view with what its control channel said, for `top`. */
export interface LivePool extends PoolView {
  readonly live: ControlStats | undefined;
}
