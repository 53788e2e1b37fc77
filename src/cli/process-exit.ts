/**
 * How the `looppool` command process exits. Node 20 restores at exit the settings of every stdio
 * descriptor that was a terminal when it started, and aborts (SIGABRT: exit 134, a core dump)
 * when that fails because the terminal hung up since (tcsetattr gives EIO; nodejs/node#51519,
 * fixed in Node 24). A run that drained after SIGHUP then ended in an abort instead of its exit
 * code. Node skips a descriptor that is closed by then, so the hung-up ones are closed first.
 */
import { closeSync } from 'node:fs';
import { isatty } from 'node:tty';

/** Which of stdin, stdout and stderr were terminals when the command started. */
const terminals = [0, 1, 2].filter((fd) => isatty(fd));

/** Exit with `code`, closing first the stdio terminals that hung up (isatty is false once they have). */
export function exitCommand(code: number): never {
  for (const fd of terminals) {
    if (isatty(fd)) continue;
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
  }
  process.exit(code);
}
