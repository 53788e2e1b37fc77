/**
 * The looppool pools running on this machine, found from process titles: workers are titled
 * `looppool <name> worker <n>`, the parent of `looppool run` is titled `looppool <name>`; a
 * library pool's parent keeps its own command line. Control sockets add what only the pool knows.
 */
import { controlDir, listControlSockets } from '../../control/index.ts';
import { isAlive, readProcessTable, type ProcessEntry } from './process-table.ts';

const WORKER_TITLE = /^looppool ([A-Za-z0-9_.-]+) worker (\d+)$/;
const PARENT_TITLE = /^looppool ([A-Za-z0-9_.-]+)$/;

export interface FoundWorker {
  readonly worker: number;
  readonly pid: number;
}

export interface FoundPool {
  readonly name: string;
  /** The parent process (the Pool's process). */
  readonly pid: number;
  /** Its command line (`looppool <name>` for `looppool run`). */
  readonly command: string;
  /** True for a `looppool run` parent. */
  readonly cli: boolean;
  /** True when the parent is itself a looppool worker (a pool inside a worker), which ignores SIGTERM. */
  readonly inWorker: boolean;
  /** True when the workers' parent is gone (they are exiting, or something is wrong). */
  readonly orphaned: boolean;
  readonly uid: number;
  readonly workers: readonly FoundWorker[];
  /** Path of its control socket, when it has one this user can reach. */
  readonly control: string | undefined;
}

/** Every pool visible now, parents in pid order, workers by number. */
export function findPools(table: readonly ProcessEntry[] = readProcessTable(), socketDir: string = controlDir()): FoundPool[] {
  const byPid = new Map(table.map((p) => [p.pid, p]));
  const pools = new Map<string, { name: string; parent: number; workers: FoundWorker[] }>();
  const poolOf = (name: string, parent: number): { workers: FoundWorker[] } => {
    const key = `${parent}@${name}`;
    let pool = pools.get(key);
    if (!pool) pools.set(key, (pool = { name, parent, workers: [] }));
    return pool;
  };
  for (const p of table) {
    const worker = WORKER_TITLE.exec(p.argv0);
    if (worker) poolOf(worker[1] as string, p.ppid).workers.push({ worker: Number(worker[2]), pid: p.pid });
    const parent = PARENT_TITLE.exec(p.argv0);
    if (parent && !WORKER_TITLE.test(p.argv0)) poolOf(parent[1] as string, p.pid);
  }
  const sockets = listControlSockets(socketDir).filter((s) => isAlive(s.pid));
  return [...pools.values()]
    .map((pool) => {
      const parent = byPid.get(pool.parent);
      const socket = sockets.find((s) => s.pid === pool.parent && s.name === pool.name);
      return {
        name: pool.name,
        pid: pool.parent,
        command: parent?.command ?? '',
        cli: parent !== undefined && PARENT_TITLE.test(parent.argv0),
        inWorker: parent !== undefined && WORKER_TITLE.test(parent.argv0),
        orphaned: parent === undefined || pool.parent === 1,
        uid: parent?.uid ?? table.find((p) => p.pid === pool.workers[0]?.pid)?.uid ?? -1,
        workers: pool.workers.sort((a, b) => a.worker - b.worker || a.pid - b.pid),
        control: socket?.path,
      };
    })
    .sort((a, b) => a.pid - b.pid || a.name.localeCompare(b.name));
}

/**
 * The pools `target` names: a pid (of a parent or of a worker) or a pool name.
 */
export function selectPools(pools: readonly FoundPool[], target: string): FoundPool[] {
  if (/^\d+$/.test(target)) {
    const pid = Number(target);
    return pools.filter((p) => p.pid === pid || p.workers.some((w) => w.pid === pid));
  }
  return pools.filter((p) => p.name === target);
}
