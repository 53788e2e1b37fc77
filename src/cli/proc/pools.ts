/**
 * The looppool pools running on this machine, found from process titles: workers are titled
 * `looppool <name> worker <n>`, the parent of `looppool run` is titled `looppool <name>`; a
 * library pool's parent keeps its own command line. Control sockets add what only the pool knows.
 */
import { readFileSync } from 'node:fs';
import { controlDir, listControlSockets, listeningControlSockets, PARENT_PID_VAR } from '../../control/index.ts';
import { innermostPid, isAlive, readProcessTable, type ProcessEntry } from './process-table.ts';

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
  /**
   * True when the workers' parent is gone (they are exiting, or something is wrong). `pid` is
   * then the pid their parent had, `command` is empty, and looppool signals no process but the
   * workers. A worker adopted by another process (pid 1, a subreaper such as
   * `systemd --user`) is told from one of its pool's by the parent pid it was started with.
   */
  readonly orphaned: boolean;
  readonly uid: number;
  readonly workers: readonly FoundWorker[];
  /** Path of its control socket, when it has one this user can reach. */
  readonly control: string | undefined;
  /**
   * Every control socket of that name in that process: `control` first, then those of further
   * pools the process gave the same name (`<pid>@<name>@2.sock`…), whose workers are listed with
   * this pool's (nothing outside the process tells them apart).
   */
  readonly controls: readonly string[];
}

/**
 * The pid of the process that started worker `pid`, from the environment it was started with
 * (`/proc/<pid>/environ`, readable for this user's processes); undefined when it cannot be read
 * or the worker is older than the variable.
 */
export function startedBy(pid: number): number | undefined {
  try {
    const prefix = `${PARENT_PID_VAR}=`;
    const entry = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').find((e) => e.startsWith(prefix));
    const parent = entry === undefined ? NaN : Number(entry.slice(prefix.length));
    return Number.isSafeInteger(parent) && parent > 0 ? parent : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The pid of the process that started worker `p`, as this process sees it: its parent's pid when
 * that parent started it, seen from here or from inside the parent's PID namespace (a pool in a
 * container, looked at from the host: the variable holds the pid the parent has in there).
 */
function parentOf(p: ProcessEntry): number {
  const started = startedBy(p.pid);
  if (started === undefined || started === p.ppid) return p.ppid;
  return innermostPid(p.ppid) === started ? p.ppid : started;
}

/** Pids of the workers of pool `name` that `parent` started, from a process table (no control sockets read). */
export function workersOf(table: readonly ProcessEntry[], name: string, parent: number): number[] {
  return table.filter((p) => WORKER_TITLE.exec(p.argv0)?.[1] === name && p.state !== 'Z' && parentOf(p) === parent).map((p) => p.pid);
}

/** Every pool visible now, parents in pid order, workers by number. */
export function findPools(table: readonly ProcessEntry[] = readProcessTable(), socketDir: string = controlDir()): FoundPool[] {
  const byPid = new Map(table.map((p) => [p.pid, p]));
  const pools = new Map<string, { name: string; parent: number; workers: FoundWorker[]; adopted: boolean }>();
  const poolOf = (name: string, parent: number): { workers: FoundWorker[]; adopted: boolean } => {
    const key = `${parent}@${name}`;
    let pool = pools.get(key);
    if (!pool) pools.set(key, (pool = { name, parent, workers: [], adopted: false }));
    return pool;
  };
  for (const p of table) {
    const worker = WORKER_TITLE.exec(p.argv0);
    if (worker) {
      const parent = parentOf(p);
      const pool = poolOf(worker[1] as string, parent);
      pool.workers.push({ worker: Number(worker[2]), pid: p.pid });
      // Adopted: its parent now is not the one that started it (init or a subreaper took it in).
      // Without the variable, a worker of pid 1 is taken for one (pid 1 does not start pools but in a container).
      if (parent !== p.ppid || (parent === 1 && startedBy(p.pid) === undefined)) pool.adopted = true;
    }
    const parent = PARENT_TITLE.exec(p.argv0);
    if (parent && !WORKER_TITLE.test(p.argv0)) poolOf(parent[1] as string, p.pid);
  }
  // This shell's control directory, then the sockets of pools started with another one.
  const sockets = [...listControlSockets(socketDir), ...listeningControlSockets()].filter((s) => isAlive(s.pid));
  return [...pools.values()]
    .map((pool) => {
      const parent = byPid.get(pool.parent);
      const orphaned = parent === undefined || pool.adopted;
      // A socket found outside the control directory counts only if its owner runs the pool; one
      // found both ways, once.
      const controls = orphaned ? [] : [...new Set(sockets.filter((s) => s.pid === pool.parent && s.name === pool.name && (s.uid === undefined || s.uid === parent?.uid)).map((s) => s.path))];
      return {
        name: pool.name,
        pid: pool.parent,
        command: orphaned ? '' : parent?.command ?? '',
        cli: !orphaned && parent !== undefined && PARENT_TITLE.test(parent.argv0),
        inWorker: !orphaned && parent !== undefined && WORKER_TITLE.test(parent.argv0),
        orphaned,
        uid: (orphaned ? undefined : parent?.uid) ?? table.find((p) => p.pid === pool.workers[0]?.pid)?.uid ?? -1,
        workers: pool.workers.sort((a, b) => a.worker - b.worker || a.pid - b.pid),
        control: controls[0],
        controls,
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
