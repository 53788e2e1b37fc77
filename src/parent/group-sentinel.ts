/**
 * What a worker started must not outlive this process even when it dies without running its
 * 'exit' listeners (SIGKILL, the kernel's OOM killer, a fatal error), where process-group.ts can
 * do nothing: its workers end then (the kernel's parent-death signal, or the closed pipe), but
 * what they started had run on, owned by nobody. So once a worker says it started a process of
 * its own (`spawned`: most workers never do, and nothing of this runs for them), its process
 * group is handed to a sentinel: a shell, in a session of its own (Ctrl-C and hang-ups do not
 * reach it), reading from a pipe the groups to end. When that pipe closes because this process
 * ended, however it ended, it SIGKILLs every group still listed. A group is taken off the list
 * once its worker has ended and process-group.ts has killed what was left of it; with none left
 * the pipe is closed and the shell exits, so it lives only while such a group does. A pool's stop
 * waits for that exit (sentinelsExited): the shell was still running when stop() resolved, a
 * child process left behind for whoever checks (a test's "no child left"), and in a worker thread
 * that ended then a zombie for good (only the thread that started a process reaps it).
 */
import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Lines `+<pgid>` and `-<pgid>`; at the end of its input, SIGKILL the groups listed. The list is
 * `seen`, ` <pgid> ` per group: a group taken off leaves nothing behind (a variable per group ever
 * listed, as this once kept, grew the shell by about 120 bytes per worker replacement, for as long
 * as one worker that started a process was running). Ids 0 and 1, and any with a leading zero, are
 * ignored whatever wrote them: `kill -- -1` from root ends every process of the machine, `-0` this
 * shell's own group. @internal exported for tests
 */
export const SENTINEL_SCRIPT = `trap '' INT TERM HUP
seen=' '
while IFS= read -r line; do
  id=\${line#?}
  case $id in ''|*[!0-9]*|0*|1) continue ;; esac
  case $line in
    +*) case $seen in *" $id "*) ;; *) seen="$seen$id " ;; esac ;;
    -*) case $seen in *" $id "*) seen="\${seen%% $id *} \${seen#* $id }" ;; esac ;;
  esac
done
for id in $seen; do kill -s KILL -- "-$id" 2>/dev/null; done`;

let sentinel: ChildProcess | undefined;
/** The groups listed, in this process's view: a new sentinel is given them all. */
const watched = new Set<number>();
/**
 * A sentinel that ends by itself (a kill, `looppool stop --force` on this tree) is replaced at
 * once if it had run this long; one that could not even start (no /bin/sh) is tried again only
 * when the next group is handed over.
 */
const RESTART_AFTER_MS = 1000;
/** How long a stop waits for a sentinel told to exit: it reads the end of its input and exits within milliseconds. */
const RETIRE_WAIT_MS = 1000;
/** Sentinels told to exit that have not exited yet, each with the promise of its exit. */
const retiring = new Map<ChildProcess, Promise<void>>();

/** Have the group `pgid` (a worker's, led by it) killed if this process dies before `unwatchGroup(pgid)`. */
export function watchGroup(pgid: number): void {
  if (process.platform === 'win32' || watched.has(pgid)) return;
  watched.add(pgid);
  if (sentinel === undefined) replaceSentinel();
  else sentinel.stdin?.write(`+${pgid}\n`);
}

/** The group `pgid` has ended (its worker exited and what was left of it was killed). */
export function unwatchGroup(pgid: number): void {
  if (!watched.delete(pgid)) return;
  sentinel?.stdin?.write(`-${pgid}\n`);
  if (watched.size > 0 || sentinel === undefined) return;
  retire(sentinel); // nothing to watch: the shell reads the end and exits
  sentinel = undefined;
}

/** Resolves once every sentinel told to exit has exited (and was reaped), or after RETIRE_WAIT_MS. */
export function sentinelsExited(): Promise<void> {
  return retiring.size === 0 ? Promise.resolve() : Promise.all(retiring.values()).then(() => undefined);
}

/** End the sentinel's input and keep track of it until it has exited; the timer keeps this process running until then. */
function retire(child: ChildProcess): void {
  child.stdin?.end();
  if (child.exitCode !== null || child.signalCode !== null) return;
  retiring.set(child, new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      retiring.delete(child);
      resolve();
    };
    const timer = setTimeout(done, RETIRE_WAIT_MS);
    child.once('exit', done);
    child.once('error', done); // it never started (no /bin/sh): no exit comes
  }));
}

/** A new sentinel, given every group listed. */
function replaceSentinel(): void {
  sentinel = startSentinel();
  for (const pgid of watched) sentinel?.stdin?.write(`+${pgid}\n`);
}

function startSentinel(): ChildProcess | undefined {
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', SENTINEL_SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  } catch {
    return undefined; // no descriptor left, say: tried again with the next group
  }
  const started = performance.now();
  child.on('error', () => {}); // no /bin/sh: a spawn error, and its pipe closes (the writes go nowhere)
  child.stdin?.on('error', () => {});
  child.once('exit', () => {
    if (sentinel !== child) return; // ended by unwatchGroup
    sentinel = undefined;
    if (watched.size > 0 && performance.now() - started >= RESTART_AFTER_MS) replaceSentinel();
  });
  child.unref(); // neither it nor its pipe keeps this process running
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return child;
}
