/**
 * The `looppool` command: `main(argv)` parses the arguments with commander, runs the
 * subcommand and resolves with the process's exit code (bin/looppool.js exits with it).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { addEnqueueCommand } from './commands/enqueue.ts';
import { addPsCommand } from './commands/ps.ts';
import { addRunCommand } from './commands/run.ts';
import { addStopCommand } from './commands/stop.ts';
import { addTopCommand } from './commands/top.ts';
import { EXIT, UsageError } from './exit-codes.ts';
import { processIo, readerGone, type CliIo } from './io.ts';

export { exitCommand } from './process-exit.ts';

/**
 * Run the command line `argv` (without `node` and the script).
 * @returns the exit code: 0 ok, 1 tasks failed, 2 usage, 3 pool could not start, 129/130/143 signals.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  guardOutputs(io);
  let code: number = EXIT.OK;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    if (err instanceof UsageError) {
      io.stderr.write(`looppool: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`looppool: internal error (please report it): ${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT.INTERNAL;
  }
}

/**
 * A write to a closed stderr or stdout (EPIPE), or to a terminal that hung up (EIO: after a
 * SIGHUP the command goes on to drain), must not turn into a crash. stderr carries only messages:
 * every error on it is dropped. On stdout only those two are: what else goes wrong there is the
 * command's to handle (`run` stops on any error of its output) or, with no one else listening,
 * thrown as before.
 */
function guardOutputs(io: CliIo): void {
  io.stderr.on('error', () => {});
  io.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (!readerGone(error) && io.stdout.listenerCount('error') === 1) throw error;
  });
}

function buildProgram(io: CliIo, done: (code: number) => void): Command {
  const program = new Command('looppool')
    .description('Run a worker module over a stream of tasks (or a BullMQ queue) in a pool of processes; watch and stop running pools.')
    .version(version(), '-V, --version')
    .exitOverride()
    .showHelpAfterError('(add --help for the options and examples)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .addHelpText('after', `\nExamples:\n  $ looppool run ./worker.ts --input tasks.jsonl\n  $ looppool ps\n  $ looppool top\n  $ looppool stop my-pool\n  $ looppool enqueue images < jobs.jsonl\n  $ looppool run ./worker.ts --bullmq images\n\nManual: ${manualPage()}`);
  addRunCommand(program, io, done);
  addPsCommand(program, io, done);
  addTopCommand(program, io, done);
  addStopCommand(program, io, done);
  addEnqueueCommand(program, io, done);
  return program;
}

/** Where this package's manual page of the command is (it ships with the package). */
function manualPage(): string {
  return fileURLToPath(new URL('../../manual/cli.md', import.meta.url));
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
