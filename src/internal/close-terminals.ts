/**
 * Node 20 restores, at exit, the settings of every stdio descriptor that was a terminal when the
 * process started, and aborts when that fails because the terminal hung up since (tcsetattr
 * gives EIO; nodejs/node#51519, fixed in Node 24): a process that outlived its terminal (an SSH
 * session dropped, a terminal window closed) ended in SIGABRT or SIGSEGV instead of its exit
 * code, and a worker's clean stop looked like a crash. Node skips a descriptor that is closed.
 */

/**
 * Close those of stdin, stdout and stderr that are a character device (a terminal, hung up or
 * not, or /dev/null). Call right before `process.exit()`. Not only the terminals that hung up
 * already: one that hangs up while the process exits (between a check and Node's restore) aborted
 * it all the same. Writes to a terminal are synchronous, so nothing written is lost; what an
 * 'exit' listener writes after this goes nowhere. The settings Node would restore are the ones
 * the terminal had when the process started: a process that changes them (raw mode) restores
 * them itself before it exits, as `looppool top` does.
 */
export function closeTerminals(): void {
  const { closeSync, fstatSync } = process.getBuiltinModule('node:fs');
  for (const fd of [0, 1, 2]) {
    try {
      if (fstatSync(fd).isCharacterDevice()) closeSync(fd);
    } catch {
      // closed already
    }
  }
}
