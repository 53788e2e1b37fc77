/**
 * Raw baseline: one `process.send` per task and per result, with Node's JSON serialization (the
 * default) or, with `serialization: 'advanced'`, the structured clone (V8's serializer).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exited, RawPool } from './raw-common.mjs';

const FILE = fileURLToPath(new URL('../workers/raw-send.mjs', import.meta.url));

export function create({ workers, serialization = 'json' }) {
  const children = [];
  const ready = [];
  let pool;
  for (let n = 0; n < workers; n++) {
    const proc = fork(FILE, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization });
    const child = {
      inFlight: 0,
      send: (i, t) => proc.send({ i, t }),
      close: () => {
        const done = exited(proc);
        if (proc.connected) proc.disconnect();
        return done;
      },
    };
    ready.push(new Promise((resolve) => proc.once('message', resolve)));
    proc.once('message', () => proc.on('message', (m) => pool.answer(child, m.i, m.r)));
    children.push(child);
  }
  pool = new RawPool(children, ready);
  return pool;
}
