/**
 * Raw baseline, the ceiling: newline-delimited JSON over an extra pipe (fd 3), every message of
 * one tick in one write, a task id and a promise per task, nothing else.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readLines, tickWriter } from './ndjson.mjs';
import { exited, RawPool } from './raw-common.mjs';

const FILE = fileURLToPath(new URL('../workers/raw-pipe.mjs', import.meta.url));

export function create({ workers }) {
  const children = [];
  const ready = [];
  let pool;
  for (let n = 0; n < workers; n++) {
    const proc = spawn(process.execPath, [...process.execArgv, FILE], { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
    const socket = proc.stdio[3];
    const send = tickWriter(socket);
    const child = {
      inFlight: 0,
      send: (i, t) => send(`${JSON.stringify({ i, t })}\n`),
      close: () => {
        const done = exited(proc);
        socket.end();
        return done;
      },
    };
    let markReady;
    ready.push(new Promise((resolve) => (markReady = resolve)));
    readLines(socket, (m) => (m.ready ? markReady() : pool.answer(child, m.i, m.r)));
    children.push(child);
  }
  pool = new RawPool(children, ready);
  return pool;
}
