// Raw baseline 2 (the ceiling): newline-delimited JSON over the extra pipe on fd 3, every
// message of one tick in one write. No framing beyond '\n', no checks, no features.
import net from 'node:net';
import { handle } from '../handler.mjs';
import { readLines, tickWriter } from '../systems/ndjson.mjs';

const socket = new net.Socket({ fd: 3, readable: true, writable: true });
const send = tickWriter(socket);
const reply = (i, r) => send(`${JSON.stringify({ i, r })}\n`);

readLines(socket, (m) => {
  const r = handle(m.t);
  if (r !== null && typeof r === 'object' && typeof r.then === 'function') r.then((v) => reply(m.i, v));
  else reply(m.i, r);
});
socket.on('end', () => process.exit(0));
socket.on('error', () => process.exit(1));
send('{"ready":true}\n');
