/** Registers `looppool run` and its flags. */
import type { Command } from 'commander';
import type { CliIo } from '../io.ts';
import type { RunFlags } from '../run/options.ts';
import { runCommand } from '../run/run-command.ts';

const EXAMPLES = `
Input and output:
  Each input line is one task: a JSON value, or with --lines the line itself as a string.
  Blank lines are skipped. Every other line gets exactly one output record (JSON line):
    {"line":3,"result":…}   {"line":4,"error":{"origin","name","message","code",…}}
  plus {"line":n,"extra":…} for results a task streams with ctx.putResult.

Exit codes: 0 all tasks ok, 1 some failed, 2 usage or worker module error,
  3 the pool could not start, 129/130/143 stopped by SIGHUP/SIGINT/SIGTERM (see manual/cli.md).
  A first signal stops reading and lets the started tasks finish; a second stops at once.

Examples:
  $ echo '"https://example.com/"' | looppool run manual/examples/fetch/worker.ts
  $ node manual/examples/extract/list-files.mjs | looppool run manual/examples/extract/worker.ts --lines --output extract.jsonl
  $ looppool run manual/examples/instrumented/worker.ts --input manual/examples/instrumented/tasks.jsonl --ordered --size 4 --json-summary summary.json
  $ looppool run ./resize.ts --bullmq images --redis redis://10.0.0.5:6379 --size 4 --concurrency 25
  (The manual/examples paths run from the root of a clone of the looppool repository; ./resize.ts
  stands for your own worker module.)

With --bullmq, each job's data is a task and each finished job attempt writes one record:
    {"job":"17","attempt":1,"result":…}   {"job":"18","attempt":1,"error":{…}}
  plus {"job":"17","attempt":1,"extra":…} for results a job's task streams with ctx.putResult.
  --input, --output, --lines, --ordered and --max-line-bytes do not apply. Add jobs with
  looppool enqueue. Exit codes: 0 after --max-jobs with no failure, 1 with failures or when the
  consumer stopped by itself, 2 usage or bullmq missing, 3 Redis or the pool could not start, 129/130/143.`;

/** Register `run` on the program. */
export function addRunCommand(program: Command, io: CliIo, done: (code: number) => void): void {
  program
    .command('run')
    .description('run a worker module over tasks read as JSON lines, writing one JSON record per line')
    .argument('<worker-module>', 'path of the worker file (.js .mjs .cjs .ts .mts .cts .tsx), relative to the current directory')
    .option('-i, --input <file>', 'read tasks from this file instead of stdin')
    .option('-o, --output <file>', 'write records to this file instead of stdout')
    .option('--lines', 'each line is a string task (not JSON)')
    .option('--ordered', 'write records in input order (default: as tasks finish)')
    .option('-s, --size <n>', 'worker processes, 1-1024 (default: the CPUs this process may use, a container\'s CPU quota included)')
    .option('-c, --concurrency <n>', 'tasks in flight per worker (default: 100)')
    .option('-n, --name <name>', 'pool name, in process titles and metrics (default: from the module file name)')
    .option('--worker-data <json>', 'JSON handed to every worker as this.workerData')
    .option('--timeout <ms>', 'task timeout (pool option taskTimeout)')
    .option('--retries <n>', 're-run a task whose worker crashed this many times (pool option retries)')
    .option('--max-tasks-per-worker <n>', 'replace a worker after this many tasks')
    .option('--max-memory-per-worker <bytes>', 'replace a worker above this RSS (512M, 2G…)')
    .option('--statsd <host:port>', 'send metrics to this statsd server')
    .option('--statsd-prefix <prefix>', 'prefix of the metric names')
    .option('--report-interval <ms>', 'how often workers report metrics')
    .option('--sentry-dsn <dsn>', 'report errors to Sentry (prefer the SENTRY_DSN environment variable: argv is visible in ps)')
    .option('--blocked-threshold <ms>', 'report a worker event loop blocked longer than this')
    .option('--stop-timeout <ms>', 'after a stop request, kill workers still busy after this long (default: 30000)')
    .option('--start-timeout <ms>', 'kill a worker whose module or initialize() is not done after this long: a failed start (default: 60000; Infinity: no limit)')
    .option('--max-line-bytes <bytes>', 'longest input line, at most 12M; longer lines get an error record (default: 1M)')
    .option('-q, --quiet', 'no progress display, no summary, no notices (errors are still printed)')
    .option('--json-summary <file>', 'write the end-of-run summary as JSON to this file ("-": stderr, instead of the text summary)')
    .option('--no-control', 'do not open the control channel that looppool top/stop use')
    .option('--bullmq <queue>', 'take the tasks from this BullMQ queue instead of input lines (runs until stopped; see manual/cli.md)')
    .option('--redis <url>', 'with --bullmq: Redis holding the queue (default: $REDIS_URL, else redis://127.0.0.1:6379)')
    .option('--job-metadata <mode>', 'with --bullmq: record host, pool, worker and timings on each job as its progress, log or none (default: progress)')
    .option('--lock-duration <ms>', 'with --bullmq: BullMQ job lock; a dead machine\'s jobs are recovered after it (default: 30000)')
    .option('--stalled-interval <ms>', 'with --bullmq: how often BullMQ looks for stalled jobs (lock expired) and puts them back (default: 30000)')
    .option('--max-stalled-count <n>', 'with --bullmq: a job that stalls more often than this fails for good (default: 1)')
    .option('--remove-on-complete <keep>', 'with --bullmq: completed jobs Redis keeps: <count> latest (0: none), age:<seconds>, or <count>,age:<seconds> (default: all)')
    .option('--remove-on-fail <keep>', 'with --bullmq: failed jobs Redis keeps, as for --remove-on-complete (default: all)')
    .option('--max-jobs <n>', 'with --bullmq: finish this many job attempts (completed or failed), taking no more jobs than they need, then exit (default: run until stopped)')
    .addHelpText('after', EXAMPLES)
    .action(async (module: string, flags: RunFlags) => done(await runCommand(module, flags, io)));
}
