/**
 * The kernel's guard against orphaned workers, where there is one. On Linux, util-linux's
 * `setpriv --pdeathsig KILL -- <command>` (util-linux 2.33 and later) asks the kernel to SIGKILL
 * the command once the process that started it dies, however it died and whatever the command's
 * event loop is doing; `setpriv` then execs the command in place (same pid, same descriptors).
 * A worker started so needs no watchdog thread to watch its parent: that thread costs each worker
 * about 45 ms of CPU to boot and 9 MiB (manual/performance-notes.md, B and E). Elsewhere, or with an
 * older `setpriv`, the worker's watchdog thread watches the parent (child/watchdog/).
 */
import path from 'node:path';

let found: string | null | undefined;

/**
 * The path of a `setpriv` that supports `--pdeathsig`, or `undefined`. Looked up in `PATH` on
 * the first call and remembered.
 */
export function deathSignalLauncher(): string | undefined {
  if (found === undefined) found = process.platform === 'linux' ? findDeathSignalLauncher(process.env['PATH'] ?? '') : null;
  return found ?? undefined;
}

/** The arguments that run `command args…` under the death signal. */
export function underDeathSignal(command: string, args: readonly string[]): string[] {
  return ['--pdeathsig', 'KILL', '--', command, ...args];
}

/** The first `setpriv` in `pathVariable` (a `PATH` value), if it supports `--pdeathsig`; otherwise null. */
export function findDeathSignalLauncher(pathVariable: string): string | null {
  for (const dir of pathVariable.split(path.delimiter)) {
    if (!path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, 'setpriv');
    try {
      // node:fs from getBuiltinModule: an ES import of it also loads its stream classes.
      const fs = process.getBuiltinModule('node:fs');
      fs.accessSync(candidate, fs.constants.X_OK);
      // An older setpriv refuses the flag. Its help text names the flag exactly when it has it;
      // reading the binary (~80 KB) costs a fraction of a ms, running it twice 10 ms on the
      // parent's main thread, on the way to the first worker.
      return fs.readFileSync(candidate).includes(' --pdeathsig ') ? candidate : null;
    } catch {
      continue;
    }
  }
  return null;
}
