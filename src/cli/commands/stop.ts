/**
 * `looppool stop <pid|name>`: a graceful stop (through the pool's control channel, else SIGTERM
 * to its parent, which drains), or with `--force` SIGKILL for the parent and every worker and
 * their descendants. Waits until the processes are gone.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { ControlNoAnswerError, controlRequest } from '../../control/index.ts';
import { MAX_DELAY_MS } from '../../index.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { printable } from '../format.ts';
import type { CliIo } from '../io.ts';
import { isAlive, readProcessTable, withDescendants, type ProcessEntry } from '../proc/process-table.ts';
import { findPools, parseWorkerTitle, poolLabel, selectPools, startedBy, workersOf, type FoundPool } from '../proc/pools.ts';

/**
 * How long a control channel may take to answer the stop request: less when --timeout leaves less,
 * but never under CONTROL_MIN_MS (a connection that fails falls back to SIGTERM, which an
 * application's handler may take as "exit now").
 */
const CONTROL_WAIT_MS = 2000;
const CONTROL_MIN_MS = 100;

interface StopFlags {
  force?: boolean;
  timeout: string;
}

/** Register `stop` on the program. */
export function addStopCommand(program: Command, io: CliIo, done: (code: number) => void): void {
  program
    .command('stop')
    .description('stop a pool: drain it gracefully, or kill its whole process tree with --force')
    .argument('<pool>', 'pid of the parent or of a worker, or the pool name (name@2: only the second of that name in its process)')
    .option('-f, --force', 'SIGKILL the parent, every worker and their descendants at once')
    .addOption(new Option('-t, --timeout <ms>', 'how long to wait for the processes to exit').default('60000', '60000 ms'))
    .addHelpText('after', '\nExamples:\n  $ looppool stop extract           # drain: started tasks finish, then exit\n  $ looppool stop 4242 --force      # kill the tree now')
    .action(async (target: string, flags: StopFlags) => done(await stop(target, flags, io)));
}

async function stop(target: string, flags: StopFlags, io: CliIo): Promise<number> {
  const timeout = Number(flags.timeout);
  if (!/^\d+$/.test(flags.timeout) || !(timeout <= MAX_DELAY_MS)) throw new UsageError(`--timeout must be milliseconds from 0 to ${MAX_DELAY_MS}, got ${JSON.stringify(flags.timeout)}`);
  // The whole stop, a control channel that does not answer included, takes at most --timeout.
  const deadline = performance.now() + timeout;
  const all = findPools();
  const pools = selectPools(all, target);
  if (pools.length === 0) throw new UsageError(`No looppool pool matches ${JSON.stringify(target)} (see looppool ps)`);
  const ownerOf = pools.find((p) => p.workers.some((w) => String(w.pid) === target));
  const inner = pools.filter((p) => String(p.pid) === target);
  if (ownerOf && inner.length > 0) {
    // A worker whose own code runs a pool: the user may mean either.
    throw new UsageError(
      `pid ${target} is worker of ${poolLabel(ownerOf)} (pid ${ownerOf.pid}) and the parent of ${inner.map(poolLabel).join(', ')}: ` +
        `give the pid of ${poolLabel(ownerOf)}'s parent to stop it (its workers' pools with it), or of a worker of the pool inside`,
    );
  }
  const parents = [...new Set(pools.map((p) => p.pid))]; // each once: a process may run several pools of the name
  if (!/^\d+$/.test(target) && parents.length > 1) throw new UsageError(`Several pools are named ${target} (parent pids ${parents.join(', ')}): give a pid`);
  refuseSharedProcess(all, pools, flags.force === true);
  const pids: number[] = [];
  const signalled = new Set<number>();
  for (const pool of pools) {
    try {
      pids.push(...(flags.force ? kill(pool) : await drain(pool, io, signalled, deadline)));
      if (flags.force) removeSocket(pool, io);
    } catch (err) {
      io.stderr.write(`looppool stop: ${poolLabel(pool)} (pid ${pool.pid}): ${(err as Error).message}\n`);
      return EXIT.FAILED;
    }
  }
  // A draining pool may still start workers (one replacing a worker that died during the drain):
  // it has stopped when none of its workers is left, not only the ones it had at first, and,
  // asked through its control channel, once it closed that (between a worker's death and its
  // replacement's spawn, the pool has no process left to see).
  const draining = flags.force ? [] : pools.filter((p) => !p.orphaned);
  const open = (): number[] => draining.filter((p) => p.pid !== process.pid && isAlive(p.pid) && p.control !== undefined && existsSync(p.control)).map((p) => p.pid);
  if (await waitGone(() => [...pids.filter(isAlive), ...workersNow(draining), ...open()], deadline)) {
    io.stderr.write(`looppool stop: ${pools.map((p) => `${poolLabel(p)} (pid ${p.pid})`).join(', ')} stopped\n`);
    return EXIT.OK;
  }
  const left = [...new Set([...pids.filter(isAlive), ...workersNow(draining), ...open()])];
  io.stderr.write(`looppool stop: still running after ${timeout} ms: pids ${left.join(', ')}${flags.force ? '' : ' (use --force to kill them)'}\n`);
  return EXIT.FAILED;
}

/**
 * Refuse to signal a process for some of its pools only: a pool without a control channel is
 * stopped by a SIGTERM to its process, and `--force` SIGKILLs the process, which ends the pools
 * it runs beside it too (`stop dup@2`, or `stop a` of an application that runs `a` and `b`).
 * Naming the process (its pid) selects all of them, which is what such a stop does.
 * @throws {UsageError}
 */
function refuseSharedProcess(all: readonly FoundPool[], selected: readonly FoundPool[], force: boolean): void {
  for (const pool of selected) {
    if (pool.orphaned || pool.pid === process.pid || (!force && pool.control !== undefined)) continue;
    const beside = all.filter((other) => other.pid === pool.pid && !selected.includes(other));
    if (beside.length === 0) continue;
    throw new UsageError(
      `${poolLabel(pool)} ${force ? 'shares' : 'has no control channel and shares'} its process (pid ${pool.pid}) with ${beside.map(poolLabel).join(', ')}: ` +
        `this stop ${force ? 'SIGKILLs' : 'would send SIGTERM to'} that process, which ends ${beside.length === 1 ? 'it' : 'them'} too. ` +
        `Give the pid ${pool.pid} to stop them all${force ? '' : `, or open ${poolLabel(pool)}'s control channel (control: true) to stop it alone`}`,
    );
  }
}

/**
 * Ask the pool to drain; returns the pids to wait for. `signalled` holds the parents already sent
 * SIGTERM: two pools of one process get one, as a second signal means "stop at once" to its handler.
 */
async function drain(pool: FoundPool, io: CliIo, signalled: Set<number>, deadline: number): Promise<number[]> {
  const workers = pool.workers.map((w) => w.pid);
  const asked = await askThroughControl(pool, io, deadline);
  if (asked) return pool.cli ? [pool.pid, ...workers] : workers;
  if (pool.orphaned || pool.pid < 1) throw new Error('its parent is gone; use --force to kill the workers');
  if (pool.inWorker) {
    // A looppool worker ignores SIGTERM (shutdown is by message): waiting would only time out.
    throw new Error(`its parent is a looppool worker (${printable(pool.command)}), which ignores SIGTERM: give that pool control: true for a graceful stop, or use --force`);
  }
  if (signalled.has(pool.pid)) return [pool.pid, ...workers];
  try {
    process.kill(pool.pid, 'SIGTERM');
    signalled.add(pool.pid);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    return workers; // gone already
  }
  // The kernel hands the init of a PID namespace only the signals it listens for: Node's own
  // handler (it resets the terminal, then takes the default action) is not enough there.
  const init = pool.pid === 1 ? ' (pid 1 of its PID namespace, a container without an init: a SIGTERM reaches it only if it listens for one, as pool.stopOnSignals() does)' : '';
  io.stderr.write(`looppool stop: sent SIGTERM to ${poolLabel(pool)} (pid ${pool.pid}: ${printable(pool.command)})${init}; waiting for it to drain\n`);
  return [pool.pid, ...workers];
}

/** A stop request through the pool's control channel; false when it has none or it cannot be reached. */
async function askThroughControl(pool: FoundPool, io: CliIo, deadline: number): Promise<boolean> {
  if (pool.control === undefined) return false;
  let answered = true;
  try {
    await controlRequest(pool.control, { op: 'stop', drain: true }, Math.max(CONTROL_MIN_MS, Math.min(CONTROL_WAIT_MS, Math.ceil(deadline - performance.now()))));
  } catch (err) {
    // Sent but not answered yet (a busy or frozen parent): the pool reads it when it resumes, and a
    // SIGTERM on top would end an application (or count as a second stop for `looppool run`).
    if (!(err instanceof ControlNoAnswerError)) return false; // not reachable: the signal instead
    answered = false;
  }
  io.stderr.write(`looppool stop: asked ${poolLabel(pool)} (pid ${pool.pid}) to stop through its control channel${answered ? '' : ', which has not answered yet (busy?)'}; waiting for it to drain\n`);
  return true;
}

/**
 * SIGKILL the tree. The parent is frozen first (SIGSTOP) so it cannot start a replacement
 * worker between the moment its children are listed and the moment they are killed.
 */
function kill(pool: FoundPool): number[] {
  if (pool.pid === 1 && !pool.orphaned) {
    // Killing its workers alone would only have it start others.
    throw new Error('its parent is pid 1 of its PID namespace (a container without an init), which nothing inside the namespace can kill: stop it gracefully, or stop its container');
  }
  const candidate = pool.orphaned || pool.pid < 1 || pool.pid === process.pid ? undefined : pool.pid;
  // Gone already (an earlier pool of the same process killed it, and it was reaped): its workers are still to kill.
  const parent = candidate !== undefined && signal(candidate, 'SIGSTOP') ? candidate : undefined;
  const table = readProcessTable();
  const ours = (title: string): boolean => {
    const worker = parseWorkerTitle(title);
    return worker?.name === pool.name && worker.instance === pool.instance;
  };
  const workers = new Set(pool.workers.map((w) => w.pid));
  for (const p of table) if (p.ppid === parent && ours(p.argv0)) workers.add(p.pid);
  // A `looppool run` parent has no children but its workers: take its whole tree.
  const roots = pool.cli && parent !== undefined ? [parent, ...workers] : [...workers];
  const tree = withDescendants(roots, table).filter((pid) => pid !== process.pid && pid !== parent);
  // A worker leads a process group, and what it starts stays in it: a process started with a
  // shell's `&` no longer descends from it (its parent is init now). Each group led in the tree
  // goes too, as one, and so does the sentinel's work if the sweep killed it (group-sentinel.ts).
  const groups = groupsLedBy(tree, table);
  if (parent !== undefined) signal(parent, 'SIGKILL');
  for (const pid of tree) signal(pid, 'SIGKILL');
  for (const group of groups.leaders) signal(-group, 'SIGKILL');
  const all = [...new Set([...tree, ...groups.members])];
  return parent === undefined ? all : [parent, ...all];
}

/** The process groups that processes of `pids` lead, and every member of them, from `table`. */
function groupsLedBy(pids: readonly number[], table: readonly ProcessEntry[]): { leaders: number[]; members: number[] } {
  const inTree = new Set(pids);
  const leaders = new Set(table.filter((p) => inTree.has(p.pid) && p.pgrp === p.pid).map((p) => p.pid));
  leaders.delete(process.pid);
  const members = table.filter((p) => leaders.has(p.pgrp) && p.pid !== process.pid).map((p) => p.pid);
  return { leaders: [...leaders], members };
}

/**
 * The workers `pools` have now, by their titles, and the processes their parents are still
 * starting (untitled yet, but started with the parent's pid in their environment).
 */
function workersNow(pools: readonly FoundPool[]): number[] {
  if (pools.length === 0) return [];
  const table = readProcessTable();
  const parents = new Set(pools.map((p) => p.pid));
  const workers = pools.flatMap((p) => workersOf(table, p));
  const booting = table.filter((p) => parents.has(p.ppid) && p.state !== 'Z' && !p.argv0.startsWith('looppool ') && startedBy(p.pid) === p.ppid).map((p) => p.pid);
  return [...workers, ...booting];
}

/** Send `sig` to `pid`; false when it is gone (ESRCH), other errors thrown. */
function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    return false;
  }
}

/**
 * Remove the control socket of a pool whose parent was killed: a SIGKILLed process cannot remove
 * its own, and the directory kept it until the next control server of this user swept it. Only
 * this pool's: another pool of the same parent is left to that sweep.
 */
function removeSocket(pool: FoundPool, io: CliIo): void {
  if (pool.control === undefined) return;
  try {
    unlinkSync(pool.control);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') io.stderr.write(`looppool stop: cannot remove the control socket ${pool.control}: ${(err as Error).message}\n`);
  }
}

/** Wait until `alive()` lists no process, or the deadline: true when none is left. */
async function waitGone(alive: () => number[], deadline: number): Promise<boolean> {
  while (alive().length > 0) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}
