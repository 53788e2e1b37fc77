/**
 * A worker's process group. Every worker starts as the leader of a group (and session) of its
 * own (spawn.ts, `detached`), and a process it starts stays in that group unless it leaves it
 * (`spawn(..., { detached: true })`, `setsid`). So the group is how the pool ends what a worker
 * started along with the worker: the pool's SIGKILL (a hard timeout, `terminate()`, a stop's
 * timeout) goes to the whole group; once a worker has ended, however it ended (its pill, a
 * crash, the kernel), whatever is left in its group is SIGKILLed; and so is every worker's group
 * when this process exits with workers still running (process.exit(), an uncaught error).
 * Without this a `sleep 600`, an ffmpeg or a browser that a task started ran on, owned by
 * nobody, after its worker was gone. A parent that dies without running its 'exit' listeners
 * (SIGKILL, a fatal error) has a sentinel do it for the groups of workers that started processes
 * (group-sentinel.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { unwatchGroup } from './group-sentinel.ts';

/** SIGKILL the worker and everything in its group; nothing once the worker is reaped. */
export function killWorkerGroup(child: ChildProcess): void {
  // Until Node has reaped the worker its pid, which is the group's id, cannot be handed out again.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL'); // no such group (not a group leader: a platform without process groups)
  }
}

/** Workers not yet reaped, for the 'exit' listener; the listener is added with the first. */
const running = new Set<ChildProcess>();

/**
 * Once `child` has exited, SIGKILL what is left of its group; if this process exits first, the
 * whole group. Run from the 'exit' event, right after Node reaped the worker: a group that still
 * has members keeps its id (the kernel does not hand out a process id that is still a group's),
 * and one that has none answers ESRCH.
 */
export function endGroupWithWorker(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined || process.platform === 'win32') return;
  if (running.size === 0) process.on('exit', killRunningGroups);
  running.add(child);
  child.once('exit', () => {
    running.delete(child);
    if (running.size === 0) process.off('exit', killRunningGroups);
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // ESRCH: nothing was left (the usual case)
    }
    unwatchGroup(pid);
  });
}

function killRunningGroups(): void {
  for (const child of running) {
    killWorkerGroup(child);
    // Off the sentinel's list now (a pipe write is made at once): by the time it reads the end of
    // its input these group ids are free, and one could be another's.
    if (child.pid !== undefined) unwatchGroup(child.pid);
  }
}
