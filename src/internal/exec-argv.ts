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
    const inspector = inspectorSpan(arg);
    if (inspector > 0) {
      i += inspector - 1;
      continue;
    }
    const [flag, inlineValue] = splitFlag(arg);
    if (PARENT_ONLY_WITH_VALUE.has(flag)) {
      if (inlineValue === undefined) i++;
      continue;
    }
    if (PARENT_ONLY.has(flag) || flag.startsWith('--test-') || flag.startsWith('--watch')) continue;
    out.push(arg);
  }
  return out;
}

/** The inspector's and debugger's flags: a worker would try to bind the parent's port. */
const INSPECTOR = /^--(inspect|debug)(-brk|-port|-wait)?$/;

/** How many arguments from `arg` on an inspector or debugger flag takes (2: a port given as the next one); 0 when it is none. */
function inspectorSpan(arg: string): number {
  const [flag, inlineValue] = splitFlag(arg);
  if (!INSPECTOR.test(flag)) return 0;
  return flag.endsWith('-port') && inlineValue === undefined ? 2 : 1;
}

/**
 * The parent's environment for its workers (the `env` option's default): `process.env`, with
 * the inspector's flags taken out of `NODE_OPTIONS` as {@link inheritedExecArgv} takes them out
 * of the flags. `NODE_OPTIONS=--inspect` made every worker fail to bind the parent's port (a
 * line on stderr at each start), and `--inspect-brk=0` made each wait for a debugger until its
 * startTimeout.
 */
export function inheritedEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const options = env.NODE_OPTIONS;
  if (options === undefined || !/--(inspect|debug)/.test(options)) return env;
  const kept: string[] = [];
  const tokens = splitNodeOptions(options);
  for (let i = 0; i < tokens.length; i++) {
    const { raw, value } = tokens[i] as { raw: string; value: string };
    const inspector = inspectorSpan(value);
    if (inspector > 0) i += inspector - 1;
    else kept.push(raw);
  }
  const { NODE_OPTIONS: _, ...rest } = env;
  return kept.length === 0 ? rest : { ...rest, NODE_OPTIONS: kept.join(' ') };
}

/**
 * `NODE_OPTIONS` split as Node splits it: on spaces, except inside double quotes, where a
 * backslash escapes the next character. `raw` is the text as written, `value` without the quoting.
 */
function splitNodeOptions(options: string): { raw: string; value: string }[] {
  const out: { raw: string; value: string }[] = [];
  let raw = '';
  let value = '';
  let quoted = false;
  for (let i = 0; i < options.length; i++) {
    const c = options[i] as string;
    if (!quoted && c === ' ') {
      if (raw !== '') out.push({ raw, value });
      raw = value = '';
      continue;
    }
    raw += c;
    if (c === '"') quoted = !quoted;
    else if (quoted && c === '\\' && i + 1 < options.length) {
      raw += options[++i];
      value += options[i];
    } else value += c;
  }
  if (raw !== '') out.push({ raw, value });
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
