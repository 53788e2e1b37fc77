// Raw baseline 1: one `process.send` (JSON serialization) per message, nothing else.
import { handle } from '../handler.mjs';

process.on('message', (m) => {
  const r = handle(m.t);
  if (r !== null && typeof r === 'object' && typeof r.then === 'function') r.then((v) => process.send({ i: m.i, r: v }));
  else process.send({ i: m.i, r });
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
