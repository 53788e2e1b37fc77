/**
 * The looppool pools running on this machine, found from process titles: workers are titled
 * `looppool <name> worker <n>` (`looppool <name>@<i> worker <n>` for the i-th running pool of
 * that name in its process, i > 1), the parent of `looppool run` is titled `looppool <name>`; a
 * library pool's parent keeps its own command line. A worker still booting (Node starting, its
 * preloads, before looppool's code sets its title) is found from the environment it was started
 * with. Control sockets (`<pid>@<name>.sock`, `<pid>@<name>@<i>.sock`) add what only the pool knows.
 */
import { readFileSync } from 'node:fs';
import { controlDir, listControlSockets, listeningControlSockets, PARENT_PID_VAR, WORKER_TITLE_VAR, type ControlSocket } from '../../control/index.ts';
import { innermostPid, isAlive, readProcessTable, type ProcessEntry } from './process-table.ts';

/** Name, instance (absent for the first pool of its name in its process) and worker number; a name has no `@`. */
const WORKER_TITLE = /^looppool ([A-Za-z0-9_.-]+)(?:@(\d+))? worker (\d+)$/;
const PARENT_TITLE = /^looppool ([A-Za-z0-9_.-]+)$/;
/** In the command line of a worker before it takes its title (parent/spawn.ts starts `dist/child/main.js`). */
const BOOTING_ENTRY = '/child/main.js';

/**
 * `booting`: its command line is still the one it was started with (`node … main.js …`): Node,
 * its `--import` preloads (tsx) or a worker module whose top level blocks have not let
 * looppool's code take the pool's first message yet. `started`: looppool's code runs in it (it
 * took its title); it may still be loading its module or in `initialize()`.
 */
export type WorkerState = 'booting' | 'started';

export interface FoundWorker {
  readonly worker: number;
  readonly pid: number;
  readonly state: WorkerState;
}

export interface FoundPool {
  readonly name: string;
  /** Its number among the pools its process gave that name (1 for the first): `<name>@<instance>` in its workers' titles and its socket's name when over 1. */
  readonly instance: number;
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
  /** Path of its control socket (of its instance), when it has one this user can reach. */
  readonly control: string | undefined;
}

/** A titled worker: what its title says. */
interface WorkerTitle {
  readonly name: string;
  readonly instance: number;
  readonly worker: number;
}

/** What a process title says of a looppool worker, or undefined when it is not one's. */
export function parseWorkerTitle(title: string): WorkerTitle | undefined {
  const m = WORKER_TITLE.exec(title);
  return m ? { name: m[1] as string, instance: Number(m[2] ?? 1), worker: Number(m[3]) } : undefined;
}

/** The pool as `ps`, `top` and `stop` name it: `<name>`, or `<name>@<instance>` for a further pool of that name in its process. */
export function poolLabel(pool: { readonly name: string; readonly instance: number }): string {
  return pool.instance > 1 ? `${pool.name}@${pool.instance}` : pool.name;
}

/** What a worker was started with (spawn.ts), from its `/proc/<pid>/environ`; both undefined when unreadable or absent. */
interface StartEnv {
  /** The pid of the process that started it. */
  readonly parent: number | undefined;
  /** The title it takes once looppool's code runs in it. */
  readonly title: string | undefined;
}

/**
 * The environment process `pid` was started with (readable for this user's processes): a
 * worker's removes the variables from its own `process.env`, not from this.
 */
function startEnv(pid: number): StartEnv {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    const value = (name: string): string | undefined => env.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);
    const parent = Number(value(PARENT_PID_VAR) ?? NaN);
    return { parent: Number.isSafeInteger(parent) && parent > 0 ? parent : undefined, title: value(WORKER_TITLE_VAR) };
  } catch {
    return { parent: undefined, title: undefined };
  }
}

/**
 * The pid of the process that started worker `pid`, from the environment it was started with;
 * undefined when it cannot be read or the worker is older than the variable.
 */
export function startedBy(pid: number): number | undefined {
  return startEnv(pid).parent;
}

/**
 * The pid of the process that started worker `p`, as this process sees it: its parent's pid when
 * that parent started it, seen from here or from inside the parent's PID namespace (a pool in a
 * container, looked at from the host: the variable holds the pid the parent has in there).
 */
function parentOf(p: ProcessEntry, started = startedBy(p.pid)): number {
  if (started === undefined || started === p.ppid) return p.ppid;
  return innermostPid(p.ppid) === started ? p.ppid : started;
}

/** `p` as a looppool worker: by its title, or, untitled yet, by the title its environment says it will take. */
function asWorker(p: ProcessEntry): (WorkerTitle & { state: WorkerState; started: number | undefined }) | undefined {
  const titled = parseWorkerTitle(p.argv0);
  if (titled) return { ...titled, state: 'started', started: startedBy(p.pid) };
  if (p.argv0 === '' || p.state === 'Z') return undefined; // a kernel thread, a zombie
  // Only a command line naming looppool's entry (`node … child/main.js <module> …`) has the
  // environment read: not every process of the machine at each `ps` and each refresh of `top`.
  if (!p.command.includes(BOOTING_ENTRY)) return undefined;
  const env = startEnv(p.pid);
  const toBe = parseWorkerTitle(env.title ?? '');
  // Only under the process that started it: what a preload (`--import`) of a booting worker
  // starts inherits the variables too, and a worker orphaned before its title is not told from that.
  if (!toBe || env.parent === undefined || parentOf(p, env.parent) !== p.ppid) return undefined;
  // A title of one argument, not looppool's: its own code renamed it, after looppool's code ran.
  const state = p.command === p.argv0 ? 'started' : 'booting';
  return { ...toBe, state, started: env.parent };
}

/** Pids of the workers of `pool` (its name and instance) that its parent started, from a process table (no control sockets read). */
export function workersOf(table: readonly ProcessEntry[], pool: Pick<FoundPool, 'name' | 'instance' | 'pid'>): number[] {
  const ours = (p: ProcessEntry): boolean => {
    const title = parseWorkerTitle(p.argv0);
    return title?.name === pool.name && title.instance === pool.instance;
  };
  return table.filter((p) => ours(p) && p.state !== 'Z' && parentOf(p) === pool.pid).map((p) => p.pid);
}

/** Every pool visible now, parents in pid order, workers by number. */
export function findPools(table: readonly ProcessEntry[] = readProcessTable(), socketDir: string = controlDir()): FoundPool[] {
  const byPid = new Map(table.map((p) => [p.pid, p]));
  const pools = new Map<string, { name: string; instance: number; parent: number; workers: FoundWorker[]; adopted: boolean }>();
  const poolOf = (name: string, instance: number, parent: number): { workers: FoundWorker[]; adopted: boolean } => {
    const key = `${parent}@${name}@${instance}`;
    let pool = pools.get(key);
    if (!pool) pools.set(key, (pool = { name, instance, parent, workers: [], adopted: false }));
    return pool;
  };
  for (const p of table) {
    const worker = asWorker(p);
    if (worker) {
      const parent = parentOf(p, worker.started);
      const pool = poolOf(worker.name, worker.instance, parent);
      pool.workers.push({ worker: worker.worker, pid: p.pid, state: worker.state });
      // Adopted: its parent now is not the one that started it (init or a subreaper took it in).
      // Without the variable, a worker of pid 1 is taken for one (pid 1 does not start pools but in a container).
      if (parent !== p.ppid || (parent === 1 && worker.started === undefined)) pool.adopted = true;
    }
    const parent = PARENT_TITLE.exec(p.argv0);
    if (parent && !WORKER_TITLE.test(p.argv0)) poolOf(parent[1] as string, 1, p.pid); // `looppool run`: its one pool
  }
  // This shell's control directory, then the sockets of pools started with another one.
  const sockets = [...listControlSockets(socketDir), ...listeningControlSockets()].filter((s) => isAlive(s.pid));
  return [...pools.values()]
    .map((pool) => {
      const parent = byPid.get(pool.parent);
      const orphaned = parent === undefined || pool.adopted;
      // A socket found outside the control directory counts only if its owner runs the pool; one
      // found both ways, once. Each pool of a name in the process has its own (its instance's).
      const ours = (s: ControlSocket): boolean => s.pid === pool.parent && s.name === pool.name && s.instance === pool.instance && (s.uid === undefined || s.uid === parent?.uid);
      return {
        name: pool.name,
        instance: pool.instance,
        pid: pool.parent,
        command: orphaned ? '' : parent?.command ?? '',
        cli: !orphaned && parent !== undefined && PARENT_TITLE.test(parent.argv0),
        inWorker: !orphaned && parent !== undefined && WORKER_TITLE.test(parent.argv0),
        orphaned,
        uid: (orphaned ? undefined : parent?.uid) ?? table.find((p) => p.pid === pool.workers[0]?.pid)?.uid ?? -1,
        workers: pool.workers.sort((a, b) => a.worker - b.worker || a.pid - b.pid),
        control: orphaned ? undefined : sockets.find(ours)?.path,
      };
    })
    .sort((a, b) => a.pid - b.pid || a.name.localeCompare(b.name) || a.instance - b.instance);
}

/**
 * The pools `target` names: a pid (of a parent or of a worker), a pool name (every pool of that
 * name), or `<name>@<instance>` as `ps` labels a further pool of a name in its process.
 */
export function selectPools(pools: readonly FoundPool[], target: string): FoundPool[] {
  if (/^\d+$/.test(target)) {
    const pid = Number(target);
    return pools.filter((p) => p.pid === pid || p.workers.some((w) => w.pid === pid));
  }
  const labelled = /^(.+)@(\d+)$/.exec(target);
  if (labelled) return pools.filter((p) => p.name === labelled[1] && p.instance === Number(labelled[2]));
  return pools.filter((p) => p.name === target);
}
