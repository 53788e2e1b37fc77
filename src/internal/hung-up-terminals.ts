/**
 * Node 20 restores, at exit, the settings of every stdio descriptor that was a terminal when the
 * process started, and aborts when that fails because the terminal hung up since (tcsetattr
 * gives EIO; nodejs/node#51519, fixed in Node 24): a process that outlived its terminal (an SSH
 * session dropped, a terminal window closed) ended in SIGABRT or SIGSEGV instead of its exit
 * code, and a worker's clean stop looked like a crash. Node skips a descriptor that is closed.
 */

/** Close those of stdin, stdout and stderr that are a terminal that hung up (a character device `isatty` no longer takes for one). Call right before `process.exit()`. */
export function closeHungUpTerminals(): void {
  const { closeSync, fstatSync } = process.getBuiltinModule('node:fs');
  const { isatty } = process.getBuiltinModule('node:tty');
  for (const fd of [0, 1, 2]) {
    try {
      if (fstatSync(fd).isCharacterDevice() && !isatty(fd)) closeSync(fd);
    } catch {
      // closed already
    }
  }
}
