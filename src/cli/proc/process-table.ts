/** The machine's processes as /proc shows them (Linux): pid, parent, owner, title. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { UsageError } from '../exit-codes.ts';

/** One process, as read from /proc. */
export interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  /** Its process group: a looppool worker leads one of its own, with what it starts. */
  readonly pgrp: number;
  readonly uid: number;
  /** First element of the command line: the whole title once a process set `process.title`. */
  readonly argv0: string;
  /** The command line, arguments joined by spaces. */
  readonly command: string;
  /** Process state letter (R, S, D, Z, T…). */
  readonly state: string;
}

/** Every process that can be read now (processes that exit while being read are skipped). */
export function readProcessTable(): ProcessEntry[] {
  if (!existsSync('/proc/self/stat')) throw new UsageError('looppool ps, top and stop read /proc: they work on Linux only');
  const out: ProcessEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const entry = readProcess(Number(name));
    if (entry) out.push(entry);
  }
  return out;
}

/** One process, or undefined when it is gone. */
export function readProcess(pid: number): ProcessEntry | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const args = raw.split('\0');
    while (args.length > 0 && args[args.length - 1] === '') args.pop();
    return {
      pid,
      ppid: Number(fields[1]),
      pgrp: Number(fields[2]),
      uid: statSync(`/proc/${pid}`).uid,
      argv0: args[0] ?? '',
      command: args.join(' '),
      state: fields[0] ?? '?',
    };
  } catch {
    return undefined;
  }
}

/**
 * The pid `pid` has in its own PID namespace (the last of `NSpid` in /proc/<pid>/status): a
 * process's own view of its pid in a container, the same as `pid` outside any; undefined when
 * it cannot be read.
 */
export function innermostPid(pid: number): number | undefined {
  try {
    const line = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    const last = line?.trim().split(/\s+/).at(-1);
    return last === undefined ? undefined : Number(last);
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const entry = readProcess(pid);
  return entry !== undefined && entry.state !== 'Z';
}

/** `pids` and all their descendants, from a process table. */
export function withDescendants(pids: readonly number[], table: readonly ProcessEntry[]): number[] {
  const children = new Map<number, number[]>();
  for (const p of table) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const out = new Set<number>();
  const visit = (pid: number): void => {
    if (out.has(pid)) return;
    out.add(pid);
    for (const child of children.get(pid) ?? []) visit(child);
  };
  for (const pid of pids) visit(pid);
  return [...out];
}
