/** Which of the parent's Node flags a worker process inherits (the `execArgv` option's default). */

/**
 * The parent's Node flags that make sense for a worker: without the inspector/debugger ones
 * (children would fail to bind the port), and without those that say what the parent process is
 * rather than how Node runs: `-e`/`-p` and their script (a worker would run the parent's script
 * again, and start pools of its own: Node's `fork()` drops them for the same reason) and
 * `--input-type` (Node refuses it without them), `-i`, `-c`, the test runner's and watch mode's.
 */
export function inheritedExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inlineValue] = splitFlag(arg);
    if (/^--(inspect|debug)(-brk|-port|-wait)?$/.test(flag)) {
      if (/^--(inspect|debug)-port$/.test(flag) && inlineValue === undefined) i++; // its value is the next argument
      continue;
    }
    if (PARENT_ONLY_WITH_VALUE.has(flag)) {
      if (inlineValue === undefined) i++;
      continue;
    }
    if (PARENT_ONLY.has(flag) || flag.startsWith('--test-') || flag.startsWith('--watch')) continue;
    out.push(arg);
  }
  return out;
}

/** `--flag=value` as `['--flag', 'value']`; anything else as `[arg, undefined]`. */
function splitFlag(arg: string): [string, string | undefined] {
  const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
  return eq < 0 ? [arg, undefined] : [arg.slice(0, eq), arg.slice(eq + 1)];
}

/** Flags about the parent process that take a value (the script to run, a test runner's setting). */
const PARENT_ONLY_WITH_VALUE = new Set([
  '-e', '--eval', '-p', '--print', '-pe', '-ep', '--input-type', '--watch-path',
  '--test-concurrency', '--test-name-pattern', '--test-reporter', '--test-reporter-destination', '--test-shard', '--test-skip-pattern', '--test-timeout',
]);
/** Flags about the parent process that take none (with any other `--test-*` and `--watch-*`). */
const PARENT_ONLY = new Set(['-i', '--interactive', '-c', '--check', '--test', '--watch']);
