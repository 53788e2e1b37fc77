/** How one worker process is started, and nothing else. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ResolvedPoolOptions } from '../options.ts';
import { PARENT_PID_VAR, WORKER_TITLE_VAR, workerTitle } from '../internal/worker-env.ts';
import { runsWatchdog } from '../protocol/messages.ts';
import { deathSignalLauncher, underDeathSignal } from './death-signal.ts';
import { endGroupWithWorker } from './process-group.ts';

/** The child entry, next to this file once built (`dist/child/main.js`). */
const CHILD_ENTRY = fileURLToPath(new URL('../child/main.js', import.meta.url));

/** fd 2 is the parent's stderr: a number in `stdio` hands that descriptor to the child. */
const STDOUT = { inherit: 'inherit', stderr: 2, ignore: 'ignore' } as const;

/** A worker's process as spawn() left it: its pipes, or why there are none. */
export interface WorkerProcess {
  /** Undefined when spawn() threw (`thrown` says why). */
  readonly child: ChildProcess | undefined;
  /** -1 when it did not start: spawn() threw, or its 'error' follows (ENOENT, EACCES, EAGAIN, EMFILE, ENFILE), then 'close'. */
  readonly pid: number;
  /** fd 3, the data channel; a pipe to nowhere when spawn() could not make it (EMFILE, ENFILE) or threw. */
  readonly data: Duplex;
  /** fd 4, the watchdog thread's reports, for a worker that runs one. */
  readonly reports: Duplex | undefined;
  /** What spawn() threw: Node's permission model without --allow-child-process, ENOMEM, E2BIG. */
  readonly thrown?: unknown;
}

/** Start worker `number` of the pool; `instance`: the pool's among the pools of its name in this process (pool-instances.ts). */
export function spawnWorker(options: ResolvedPoolOptions, number: number, instance = 1): WorkerProcess {
  let child: ChildProcess;
  try {
    child = spawnProcess(options, number, instance);
  } catch (thrown) {
    return { child: undefined, pid: -1, data: nowhere(), reports: undefined, thrown };
  }
  const pipes = child.stdio as unknown as (Duplex | null)[] | null | undefined;
  return { child, pid: child.pid ?? -1, data: pipes?.[3] ?? nowhere(), reports: pipes?.[4] ?? undefined };
}

function spawnProcess(options: ResolvedPoolOptions, number: number, instance: number): ChildProcess {
  const launcher = deathSignalLauncher();
  // argv: the module URL, so the worker starts importing it before the handshake; the
  // blocked-loop threshold, so it can start its watchdog thread first thing; and, when the kernel
  // will end it with its parent, the parent's pid (it then needs no thread for that, and checks
  // the parent did not die before the signal was armed). None is a secret; the worker's title
  // replaces argv in `ps` once it runs.
  const args = [options.workerUrl, String(options.blockedLoopThreshold ?? ''), launcher ? String(process.pid) : ''];
  const spawnOptions: SpawnOptions = {
    // PARENT_PID_VAR: who started this worker, for `looppool ps`/`stop` (a subreaper that adopts
    // an orphaned worker is not its pool); WORKER_TITLE_VAR: the title it will take, so `ps` lists
    // it under its pool while it boots, untitled. The worker drops both from its own process.env at once.
    env: { ...options.env, [PARENT_PID_VAR]: String(process.pid), [WORKER_TITLE_VAR]: workerTitle(options.name, number, instance) },
    // fd 3 is the data channel (a private socketpair carrying our frames; the worker exits when
    // it closes); fd 4 carries the watchdog thread's reports (JSON lines), written while the
    // worker's main thread is blocked, and exists only for a worker that runs that thread. No
    // Node IPC channel: setting one up costs every worker about 0.5 MiB (Node loads
    // child_process and its serializers for it), and it would carry nothing.
    stdio: ['ignore', STDOUT[options.workerStdout], 'inherit', 'pipe', runsWatchdog(options.blockedLoopThreshold, launcher !== undefined) ? 'pipe' : 'ignore'],
    // A process group (and session) of its own: a Ctrl-C at the terminal, or a hang-up, reaches
    // the parent's group only. A worker ignores those signals once its entry runs, but one still
    // booting (a start, a replacement) died of them, and start() failed while the parent drained.
    // The worker still ends with its parent (--pdeathsig, or its watchdog thread, or its pipe).
    // The group also holds what the worker starts: it ends with the worker (process-group.ts).
    detached: true,
  };
  const node = [...options.execArgv, CHILD_ENTRY, ...args];
  const child = launcher ? spawn(launcher, underDeathSignal(process.execPath, node), spawnOptions) : spawn(process.execPath, node, spawnOptions);
  endGroupWithWorker(child);
  return child;
}

/** A pipe to nowhere: the data channel of a process that could not be started (nothing is sent on it). */
function nowhere(): Duplex {
  const { Duplex } = process.getBuiltinModule('node:stream'); // not an ES import: see bundle.config.mjs
  return new Duplex({ read() {}, write: (_chunk, _encoding, done) => done() });
}
