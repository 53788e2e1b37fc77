/** Registers `looppool enqueue`: JSON lines in, BullMQ jobs out. */
import type { Command } from 'commander';
import { enqueueCommand, type EnqueueFlags } from '../bullmq/enqueue-command.ts';
import type { CliIo } from '../io.ts';

const HELP = `
Input and output:
  Each non-blank input line is one job: its JSON value becomes the job's data.
  A line that is not JSON, not UTF-8, longer than --max-line-bytes (or lacks the
  --id-field) is reported on stderr as "line N: reason" and skipped. At the end, one JSON line on stdout:
    {"lines":1002,"added":1000,"invalid":2}

Exit codes: 0 every line added, 1 some lines invalid (the others were added),
  2 usage error or bullmq/ioredis not installed, 3 Redis does not answer (or failed
  while adding), 129/130/143 stopped by SIGHUP/SIGINT/SIGTERM (the lines read so far are added).

Examples:
  $ looppool enqueue images < jobs.jsonl
  $ looppool enqueue images --redis redis://10.0.0.5:6379 --attempts 3 --backoff 1000 --input jobs.jsonl
  $ jq -c '.[]' images.json | looppool enqueue images --id-field id   # re-running adds no job twice

Then consume the queue with: looppool run ./worker.ts --bullmq images (see manual/cli.md)`;

/** Register `enqueue` on the program. */
export function addEnqueueCommand(program: Command, io: CliIo, done: (code: number) => void): void {
  program
    .command('enqueue')
    .description('add one BullMQ job per JSON line of the input to a queue in Redis (in bulk)')
    .argument('<queue>', 'the BullMQ queue name')
    .option('--redis <url>', 'Redis to add the jobs to (default: $REDIS_URL, else redis://127.0.0.1:6379)')
    .option('-i, --input <file>', 'read jobs from this file instead of stdin')
    .option('--batch-size <n>', 'jobs per addBulk call, one Redis round trip each (default: 1000)')
    .option('--job-name <name>', 'BullMQ job name of every job (default: task)')
    .option('--attempts <n>', 'BullMQ attempts: how many times a job runs before it fails for good (default: 1, no retry)')
    .option('--backoff <ms>', 'first retry delay; each further retry waits twice as long (exponential backoff)')
    .option('--id-field <field>', 'use this field of each line\'s object as the job id (a job id already in the queue is not added again)')
    .option('--max-line-bytes <bytes>', 'longest input line, at most 12M; longer lines are skipped unread and reported (default: 1M)')
    .option('-q, --quiet', 'no notices (invalid lines and errors are still printed)')
    .addHelpText('after', HELP)
    .action(async (queue: string, flags: EnqueueFlags) => done(await enqueueCommand(queue, flags, io)));
}
