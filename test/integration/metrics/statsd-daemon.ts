/**
 * Etsy's statsd daemon (the `statsd` package, 0.9.0) for tests: started on free ports with a temp
 * config and a long flush interval (its dumps reset at each flush), read over its TCP
 * management port, stopped by pid, config deleted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../helpers/processes.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export type Dump = Record<string, number | number[]>;

export interface StatsdDaemon {
  readonly port: number;
  readonly pid: number;
  /** `gauges`, `counters` or `timers`, parsed. */
  dump(what: 'gauges' | 'counters' | 'timers'): Promise<Dump>;
  stop(): Promise<void>;
}

export async function startStatsdDaemon(): Promise<StatsdDaemon> {
  const port = await freeUdpPort();
  const mgmtPort = await freeTcpPort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-statsd-'));
  const config = path.join(dir, 'config.js');
  writeFileSync(config, JSON.stringify({
    port, address: '127.0.0.1', mgmt_port: mgmtPort, mgmt_address: '127.0.0.1',
    flushInterval: 3_600_000, backends: [], title: false, deleteIdleStats: false,
  }));
  const shim = path.join(root, 'test/integration/metrics/statsd-daemon-shim.cjs');
  const child = spawn(process.execPath, ['--require', shim, path.join(root, 'node_modules/statsd/stats.js'), config], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => (await command(mgmtPort, 'health').catch(() => '')).includes('health: up'), 'statsd to answer', 10_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, pid: child.pid as number, dump: async (what) => parseDump(await command(mgmtPort, what)), stop };
}

/** One management command per connection (the daemon reads one command per data chunk). */
function command(port: number, cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`${cmd}\n`));
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      out += d;
      if (/\n(END|health: \w+)\n/.test(`\n${out}`)) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
  });
}

/** The daemon answers with `util.inspect` of an object: `{ 'a.b': 1, 'c': [ 1, 2 ] }`. */
export function parseDump(text: string): Dump {
  const out: Dump = {};
  const entry = /(?:'((?:[^'\\]|\\.)*)'|([A-Za-z_$][\w$]*)):\s*(\[[^\]]*\]|-?[\d.e+-]+)/g;
  for (const m of text.matchAll(entry)) {
    const key = (m[1] ?? m[2]) as string;
    const raw = m[3] as string;
    out[key] = raw.startsWith('[')
      ? raw.slice(1, -1).split(',').map((s) => s.trim()).filter((s) => /^-?\d/.test(s)).map(Number)
      : Number(raw);
  }
  return out;
}

async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

async function freeTcpPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
