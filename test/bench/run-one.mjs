/**
 * One benchmark run in a fresh process: `node run-one.mjs '<spec as JSON>'` (with `--expose-gc`
 * for the mem workload, which calls gc(); lib/launch.mjs adds it there only).
 * Prints one line `BENCH_RESULT <json>` on stdout: the workload's metrics, or `{ error }`, or
 * `{ skipped }` for an optional variant whose Pool options this build does not accept yet.
 */
import dgram from 'node:dgram';
import { WORKLOADS } from './workloads.mjs';

const spec = JSON.parse(process.argv[2] ?? '{}');
const finish = (result) => process.stdout.write(`\nBENCH_RESULT ${JSON.stringify(result)}\n`, () => process.exit(0));
let create;
try {
  ({ create } = await import(`./systems/${spec.adapter}.mjs`));
} catch (err) {
  finish({ error: `cannot load ${spec.adapter}: ${err instanceof Error ? err.stack : String(err)}` });
  await new Promise(() => {}); // finish() exits
}

/** A UDP socket on 127.0.0.1 that swallows statsd packets, for variants that report metrics. */
async function statsdSink() {
  const socket = dgram.createSocket('udp4');
  let packets = 0;
  socket.on('message', () => packets++);
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, packets: () => packets, close: () => socket.close() };
}

/** Replace the string `$STATSD_PORT` anywhere in `value` by `port`. */
function withPort(value, port) {
  if (value === '$STATSD_PORT') return port;
  if (Array.isArray(value)) return value.map((v) => withPort(v, port));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withPort(v, port)]));
  return value;
}

let result;
const sink = spec.statsdSink ? await statsdSink() : undefined;
try {
  const config = sink ? withPort(spec.config, sink.port) : spec.config;
  result = await WORKLOADS[spec.workload](create, config, spec.params);
  if (sink) result.statsdPackets = sink.packets();
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  if (spec.optional && err instanceof TypeError && /Unknown option/.test(message)) result = { skipped: message };
  else result = { error: err instanceof Error ? err.stack : message };
}
sink?.close();
finish(result);
