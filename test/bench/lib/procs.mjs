/** Facts about processes read from /proc (Linux): process groups, descendants, resident memory. */
import { readdirSync, readFileSync } from 'node:fs';

/** `{ pid, ppid, pgrp, state }` of every process we can read. */
export function processTable() {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(entry), state: fields[0], ppid: Number(fields[1]), pgrp: Number(fields[2]) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Live (not zombie) processes of process group `pgrp`. */
export function groupMembers(pgrp) {
  return processTable().filter((p) => p.pgrp === pgrp && p.state !== 'Z').map((p) => p.pid);
}

/**
 * Live processes a looppool pool in process `pid` started: its workers run in sessions and groups
 * of their own, and one whose parent died no longer descends from it, but each carries
 * `LOOPPOOL_PARENT_PID=<pid>` in the environment it was started with.
 */
export function startedByPool(pid) {
  const marker = `\0LOOPPOOL_PARENT_PID=${pid}\0`;
  return processTable()
    .filter((p) => p.state !== 'Z')
    .filter((p) => {
      try {
        return `\0${readFileSync(`/proc/${p.pid}/environ`, 'latin1')}`.includes(marker);
      } catch {
        return false; // gone, or not ours
      }
    })
    .map((p) => p.pid);
}

/** Pids of every live descendant of `pid`. */
export function descendants(pid) {
  const table = processTable().filter((p) => p.state !== 'Z');
  const out = [];
  const parents = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of table) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        out.push(p.pid);
        grew = true;
      }
    }
  }
  return out;
}

/** Resident set size of `pid` in bytes (0 if it is gone). */
export function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
