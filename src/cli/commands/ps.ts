/** `looppool ps`: the pools on this machine as trees, with CPU, memory and uptime. */
import type { Command } from 'commander';
import { columns, formatBytes, formatDuration, printable } from '../format.ts';
import { printOut, type CliIo } from '../io.ts';
import { findPools, poolLabel, selectPools } from '../proc/pools.ts';
import { poolPids, viewPools, type PoolView } from '../proc/pool-view.ts';
import { forgetUsage, measureUsage } from '../proc/usage.ts';

interface PsFlags {
  json?: boolean;
}

/** Register `ps` on the program. */
export function addPsCommand(program: Command, io: CliIo, done: (code: number) => void): void {
  program
    .command('ps')
    .description('list the looppool pools running on this machine, as process trees')
    .argument('[pool]', 'only the pool with this name (name@2: the second of that name in its process) or pid')
    .option('--json', 'print JSON for scripts (an array of pools; see manual/cli.md)')
    .addHelpText('after', '\nExamples:\n  $ looppool ps\n  $ looppool ps --json | jq \'.[] | {name, pid, workers: [.workers[].pid]}\'')
    .action(async (target: string | undefined, flags: PsFlags) => done(await ps(target, flags, io)));
}

async function ps(target: string | undefined, flags: PsFlags, io: CliIo): Promise<number> {
  const found = target === undefined ? findPools() : selectPools(findPools(), target);
  const usage = await measureUsage(poolPids(found));
  forgetUsage();
  const pools = viewPools(found, usage);
  if (flags.json) return printOut(io, 'ps', `${JSON.stringify(pools, null, 2)}\n`);
  if (pools.length === 0) return printOut(io, 'ps', target === undefined ? 'No looppool pools are running.\n' : `No looppool pool matches ${JSON.stringify(target)}.\n`);
  return printOut(io, 'ps', `${renderPoolTable(pools).map(printable).join('\n')}\n`);
}

/** The tree table of `ps` (also the process part of `top`). */
export function renderPoolTable(pools: readonly PoolView[]): string[] {
  const rows: string[][] = [['POOL / WORKER', 'PID', 'CPU%', 'RSS', 'UPTIME', 'COMMAND']];
  for (const pool of pools) {
    const notes = [pool.orphaned ? 'orphaned' : '', pool.control ? 'control' : ''].filter(Boolean).join(', ');
    rows.push([poolLabel(pool), String(pool.pid), cpu(pool.cpuPercent), formatBytes(pool.rssBytes ?? undefined), formatDuration(pool.uptimeMs ?? undefined), `${pool.command}${notes ? ` [${notes}]` : ''}`]);
    pool.workers.forEach((w, i) => {
      const branch = i === pool.workers.length - 1 ? '└─' : '├─';
      // Booting: Node or its preloads still start, looppool's code has not run (nor set its title).
      rows.push([`${branch} worker ${w.worker}`, String(w.pid), cpu(w.cpuPercent), formatBytes(w.rssBytes ?? undefined), formatDuration(w.uptimeMs ?? undefined), w.state === 'booting' ? '[booting]' : '']);
    });
  }
  return columns(rows);
}

function cpu(value: number | null): string {
  return value === null ? '-' : value.toFixed(1);
}
