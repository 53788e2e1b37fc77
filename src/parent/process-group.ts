/**
 * A worker's process group. Every worker starts as the leader of a group (and session) of its
 * own (spawn.ts, `detached`), and a process it starts stays in that group unless it leaves it
 * (`spawn(..., { detached: true })`, `setsid`). So the group is how the pool ends what a worker
 * started along with the worker: the pool's SIGKILL (a hard timeout, `terminate()`, a stop's
 * timeout) goes to the whole group, and once a worker has ended, however it ended (its pill, a
 * crash, the kernel), whatever is left in its group is SIGKILLed. Without this a `sleep 600`,
 * an ffmpeg or a browser that a task started ran on, owned by nobody, after its worker was gone.
 */
import type { ChildProcess } from 'node:child_process';

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

/**
 * Once `child` has exited, SIGKILL what is left of its group. Run from the 'exit' event, right
 * after Node reaped it: a group that still has members keeps its id (the kernel does not hand out
 * a process id that is still a group's), and one that has none answers ESRCH.
 */
export function endGroupWithWorker(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined || process.platform === 'win32') return;
  child.once('exit', () => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // ESRCH: nothing was left (the usual case)
    }
  });
}
