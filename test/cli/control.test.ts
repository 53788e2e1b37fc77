/**
 * The control channel (src/control): a private Unix socket per pool — directory 0700, socket
 * 0600, removed on close — answering `stats`, `stop` and `events` over JSON lines.
 */
import { EventEmitter } from 'node:events';
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, existsSync, rmSync, symlinkSync, chmodSync, utimesSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRequest, listControlSockets, startControlServer, subscribeControlEvents, type ControlEvent } from '../../src/control/index.ts';
import { waitFor } from '../helpers/processes.ts';
import { fixture } from './helpers.ts';

// Made before the first test, not at import: a run that filters out every test imports the
// file but runs none of its hooks, and the directory was left behind.
let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lpc-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => path.join(tmp, `d${++n}`);

class FakePool extends EventEmitter {
  stopped: { drain?: boolean }[] = [];
  stats() {
    return { state: 'running', size: 2, queued: 3, inFlight: 4, done: 10, failed: 1, restarts: 0, workers: [{ worker: 0, pid: 1, state: 'ready', inFlight: 4, done: 10, failed: 1 }] };
  }
  async stop(options: { drain?: boolean } = {}): Promise<void> {
    this.stopped.push(options);
  }
}

/** Send raw text, read the first `count` lines back. */
function exchange(socketPath: string, text: string, count = 1): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath, () => socket.write(text));
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n').filter(Boolean);
      if (lines.length >= count) {
        socket.destroy();
        resolve(lines);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(buffer.split('\n').filter(Boolean)));
  });
}

/** Set the mtime of `file` an hour back: a socket left long ago, not one being bound now. */
function age(file: string): void {
  const hourAgo = new Date(Date.now() - 3_600_000);
  utimesSync(file, hourAgo, hourAgo);
}

/**
 * Run `script` in a child (`arg` its argument) that prints a line once it has bound its sockets,
 * then SIGKILL it: the socket files stay, and nothing listens on them (a server closed in this
 * process would unlink its file).
 */
async function bindInChildThenKill(script: string, arg: string, what: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', script, arg], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const bound = await new Promise<boolean>((resolve) => {
    child.stdout.once('data', () => resolve(true));
    child.once('exit', () => resolve(false));
  });
  child.kill('SIGKILL');
  await exited;
  if (!bound) throw new Error(`The child exited before it bound ${what}`);
}

/** Leave a socket file nothing listens on at `file`. */
async function leaveSocket(file: string): Promise<void> {
  await bindInChildThenKill("require('node:net').createServer().listen(process.argv[1], () => console.log('listening'))", file, file);
}

/** Leave `count` aged socket files nothing listens on in `dir` (made 0700), all bound by one child. */
async function leaveSockets(dir: string, count: number): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const bind = `const net = require('node:net'); let left = ${count};
    for (let i = 0; i < ${count}; i++) net.createServer().listen(require('node:path').join(process.argv[1], (4000000 + i) + '@stale.sock'), () => { if (--left === 0) console.log('bound'); });`;
  await bindInChildThenKill(bind, dir, `${count} sockets in ${dir}`);
  for (const socket of listControlSockets(dir)) age(socket.path);
}

/** A server in this process answering `pong` to each line, as a pool of another PID namespace serves its socket. */
async function listenAt(file: string): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.on('data', () => socket.write('pong\n'));
  });
  await new Promise<void>((resolve) => server.listen(file, resolve));
  return server;
}

describe('control channel', () => {
  it('binds a 0600 socket named <pid>@<name>.sock in a new 0700 directory, and removes it on close', async () => {
    const dir = freshDir();
    const server = await startControlServer(new FakePool(), { name: 'alpha', dir });
    expect(server.path).toBe(path.join(dir, `${process.pid}@alpha.sock`));
    expect(lstatSync(dir).mode & 0o777).toBe(0o700);
    expect(lstatSync(server.path).isSocket()).toBe(true);
    expect(lstatSync(server.path).mode & 0o777).toBe(0o600);
    expect(listControlSockets(dir)).toEqual([{ pid: process.pid, name: 'alpha', instance: 1, path: server.path }]);
    await server.close();
    expect(existsSync(server.path)).toBe(false);
    expect(listControlSockets(dir)).toEqual([]);
  });

  it('removes the sockets nothing listens on when it opens one (a pool killed with SIGKILL leaves its own)', async () => {
    const dir = freshDir();
    const first = await startControlServer(new FakePool(), { name: 'keep', dir }); // a live process's: kept
    const gone = spawnSync(process.execPath, ['-e', '']).pid as number; // a pid no process has now
    const stale = path.join(dir, `${gone}@dead.sock`);
    writeFileSync(stale, '');
    age(stale);
    const server = await startControlServer(new FakePool(), { name: 'zeta', dir });
    expect(existsSync(stale)).toBe(false); // before: it stayed for good
    expect(listControlSockets(dir).map((s) => s.name).sort()).toEqual(['keep', 'zeta']);
    await server.close();
    await first.close();
  });

  it('removes a stale socket named for a pid that is alive (reused, or of another PID namespace), but not one just bound', async () => {
    // Before: kill(pid, 0) found the pid alive, and the socket stayed for good.
    const dir = freshDir();
    mkdirSync(dir, { mode: 0o700 });
    const stale = path.join(dir, `${process.pid}@ghost.sock`);
    const fresh = path.join(dir, `${process.ppid}@ghost.sock`);
    await leaveSocket(stale);
    await leaveSocket(fresh);
    age(stale);
    const server = await startControlServer(new FakePool(), { name: 'sweeper', dir });
    await server.close();
    expect(existsSync(stale)).toBe(false);
    // Refused too, but made seconds ago: maybe a pool between its bind and its listen.
    expect(existsSync(fresh)).toBe(true);
  });

  it('sweeps hundreds of stale sockets in a process allowed few descriptors, and still opens its own', async () => {
    // Before: every socket was probed at once; at 64 descriptors the probes took them all (EMFILE),
    // the pool's own path could not be probed ("served by another process"), no channel was
    // opened, and most stale sockets stayed.
    const runtime = freshDir();
    const dir = path.join(runtime, 'looppool');
    await leaveSockets(dir, 300);
    const child = spawnSync('sh', ['-c', 'ulimit -n 64 && exec "$0" "$1"', process.execPath, fixture('app-control-once.mjs')], {
      env: { ...process.env, XDG_RUNTIME_DIR: runtime },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.stderr).toBe('');
    expect(child.stdout).toBe('SOCKET yes\n');
    expect(listControlSockets(dir)).toEqual([]);
  });

  it('keeps a live socket named for a pid this process cannot see (a pool of another PID namespace), which still answers', async () => {
    // Before: kill(4194304, 0) failed with ESRCH (no pid is that high), and the live socket was removed.
    const dir = freshDir();
    mkdirSync(dir, { mode: 0o700 });
    const other = await listenAt(path.join(dir, '4194304@live.sock'));
    try {
      const server = await startControlServer(new FakePool(), { name: 'kappa', dir });
      await server.close();
      expect(listControlSockets(dir).map((s) => s.name)).toEqual(['live']);
      expect(await exchange(path.join(dir, '4194304@live.sock'), 'ping\n')).toEqual(['pong']);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('says why it could not tell whether its own path is served (a full listen queue: EAGAIN), and leaves it', async () => {
    // Before: any failure to connect but a refusal was reported as "served by another process".
    const dir = freshDir();
    mkdirSync(dir, { mode: 0o700 });
    const busy = path.join(dir, `${process.pid}@busy.sock`);
    // A listener whose loop never runs again: the kernel's queue (backlog 1) holds a connection or two, then refuses with EAGAIN.
    const script = "require('node:net').createServer().listen({ path: process.argv[1], backlog: 1 }, () => { console.log('listening'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); })";
    const child = spawn(process.execPath, ['-e', script, busy], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const held: net.Socket[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', () => reject(new Error('the listener exited')));
      });
      // Fill the queue: connect until the kernel refuses one.
      for (let full = false; !full && held.length < 20; ) {
        const socket = net.connect(busy);
        held.push(socket);
        full = await new Promise<boolean>((resolve, reject) => {
          socket.once('connect', () => resolve(false));
          socket.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EAGAIN' ? resolve(true) : reject(err)));
        });
      }
      const error = await startControlServer(new FakePool(), { name: 'busy', dir }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'ControlChannelError', message: expect.stringContaining(`Cannot tell whether a process serves ${busy} (EAGAIN)`) });
      expect(existsSync(busy)).toBe(true);
    } finally {
      for (const socket of held) socket.destroy();
      child.kill('SIGKILL');
      await exited;
    }
  });

  it('leaves a live socket at its own path (a pool of another PID namespace with its pid and name) answering, and opens none', async () => {
    // Before: the file at its path was taken for a stale one of an earlier process with its pid, and unlinked.
    // Another index would not do: the socket's index is the pool's instance, which its workers' titles carry.
    const dir = freshDir();
    mkdirSync(dir, { mode: 0o700 });
    const twin = path.join(dir, `${process.pid}@twin.sock`);
    const other = await listenAt(twin);
    try {
      const error = await startControlServer(new FakePool(), { name: 'twin', dir }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'ControlChannelError', message: expect.stringContaining('is served by another process') });
      expect(await exchange(twin, 'ping\n')).toEqual(['pong']);
      expect(listControlSockets(dir).map((s) => s.path)).toEqual([twin]);
      // Its instance number was given back: the next pool of the name, once the other is gone, is the first again.
      await new Promise((resolve) => other.close(resolve));
      const server = await startControlServer(new FakePool(), { name: 'twin', dir });
      expect(server.path).toBe(twin);
      await server.close();
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('answers stats with the pool snapshot, throughput, loop delay and the details it is given', async () => {
    const server = await startControlServer(new FakePool(), { name: 'beta', dir: freshDir(), details: () => ({ input: { read: 7 } }) });
    const stats = (await controlRequest(server.path, { op: 'stats' })) as Record<string, any>;
    expect(stats).toMatchObject({ name: 'beta', pid: process.pid, state: 'running', queued: 3, inFlight: 4, done: 10, failed: 1, details: { input: { read: 7 } } });
    expect(stats.throughput).toEqual(expect.any(Number));
    expect(stats.loopDelay).toEqual({ p50: expect.any(Number), p99: expect.any(Number), max: expect.any(Number) });
    expect(stats.workers).toHaveLength(1);
    await server.close();
  });

  it('answers stats with an ERR_CONTROL_STATS error, and keeps serving, when the owner\'s details() throws or gives what JSON cannot carry', async () => {
    // Before: the exception was thrown in the socket's data handler, and ended the pool's process.
    let details: () => unknown = () => ({ bytes: 1n });
    const server = await startControlServer(new FakePool(), { name: 'bigint', dir: freshDir(), details: () => details() });
    const lines = await exchange(server.path, '{"id":1,"op":"stats"}\n', 1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ id: 1, ok: false, error: { name: 'TypeError', code: 'ERR_CONTROL_STATS', message: expect.stringContaining('BigInt') } });
    details = () => {
      throw new RangeError('no figures yet');
    };
    await expect(controlRequest(server.path, { op: 'stats' })).rejects.toMatchObject({ code: 'ERR_CONTROL_CHANNEL', message: expect.stringContaining('RangeError: Cannot answer stats: no figures yet') });
    details = () => ({ ok: 1 });
    expect(await controlRequest(server.path, { op: 'stats' })).toMatchObject({ details: { ok: 1 } });
    await server.close();
  });

  it('stops the pool on stop (graceful by default), or hands the request to onStop', async () => {
    const pool = new FakePool();
    const server = await startControlServer(pool, { name: 'gamma', dir: freshDir() });
    expect(await controlRequest(server.path, { op: 'stop' })).toEqual({ stopping: true, drain: true });
    await waitFor(() => pool.stopped.length === 1, 'pool.stop()');
    expect(pool.stopped).toEqual([{ drain: true }]);
    await server.close();
    const requests: boolean[] = [];
    const other = await startControlServer(pool, { name: 'gamma', dir: freshDir(), onStop: (drain) => requests.push(drain) });
    await controlRequest(other.path, { op: 'stop', drain: false });
    expect(requests).toEqual([false]);
    await other.close();
  });

  it('streams pool events to an events subscriber', async () => {
    const pool = new FakePool();
    const server = await startControlServer(pool, { name: 'delta', dir: freshDir() });
    const events: ControlEvent[] = [];
    const unsubscribe = subscribeControlEvents(server.path, (e) => events.push(e));
    await waitFor(() => pool.listenerCount('workerExit') === 1, 'the subscription');
    pool.emit('workerExit', { worker: 1, pid: 99, exitCode: 1, signal: null, expected: false });
    pool.emit('workerError', Object.assign(new Error('boom'), { code: 'E_X' }), { worker: 1, pid: 99, origin: 'uncaughtException' });
    await waitFor(() => events.length === 2, 'two events');
    expect(events[0]).toMatchObject({ event: 'workerExit', data: { worker: 1, pid: 99, exitCode: 1 } });
    expect(events[1]).toMatchObject({ event: 'workerError', data: [{ name: 'Error', message: 'boom', code: 'E_X' }, { origin: 'uncaughtException' }] });
    unsubscribe();
    await waitFor(() => pool.listenerCount('workerExit') === 0, 'the listeners to be removed when the client leaves');
    await server.close();
  });

  it('sends an event whose data JSON cannot carry as its error, instead of throwing inside the pool\'s emit()', async () => {
    // Before: JSON.stringify threw in the listener, that is out of pool.emit(), into the pool's own code.
    const pool = new FakePool();
    const server = await startControlServer(pool, { name: 'bigev', dir: freshDir(), events: ['progress'] });
    const events: ControlEvent[] = [];
    const unsubscribe = subscribeControlEvents(server.path, (e) => events.push(e));
    await waitFor(() => pool.listenerCount('progress') === 1, 'the subscription');
    expect(() => pool.emit('progress', { bytes: 1n })).not.toThrow();
    pool.emit('progress', { bytes: 2 });
    await waitFor(() => events.length === 2, 'two events');
    expect(events.map((e) => e.data)).toEqual([{ unserializable: expect.stringContaining('BigInt') }, { bytes: 2 }]);
    unsubscribe();
    await server.close();
  });

  it("many channels open in one process share one 'exit' listener, which removes every socket still there at exit", async () => {
    // Before: each added its own, and about ten pools with control: true made Node warn of a leak.
    const dir = freshDir();
    const earlier = process.listeners('exit');
    const before = earlier.length;
    const servers = await Promise.all(Array.from({ length: 12 }, (_, i) => startControlServer(new FakePool(), { name: `many${i}`, dir })));
    expect(process.listenerCount('exit')).toBe(before + 1);
    await Promise.all(servers.slice(1).map((server) => server.close()));
    expect(process.listenerCount('exit')).toBe(before + 1); // one still open
    process.listeners('exit').find((listener) => !earlier.includes(listener))?.call(process, 0); // what runs at exit
    expect(existsSync((servers[0] as { path: string }).path)).toBe(false);
    await servers[0]?.close();
    expect(process.listenerCount('exit')).toBe(before);
  });

  it('serves many events subscribers with one listener per event on the pool: no MaxListenersExceededWarning', async () => {
    // Before: each subscriber added its own listeners, and an eleventh (eleven `looppool top`) made Node warn on stderr.
    const pool = new FakePool();
    const server = await startControlServer(pool, { name: 'many', dir: freshDir() });
    const counts = Array.from({ length: 12 }, () => 0);
    const unsubscribes = counts.map((_, i) => subscribeControlEvents(server.path, () => (counts[i] = (counts[i] ?? 0) + 1)));
    try {
      // Emit until every subscriber (each connects in its own time) has had an event.
      await waitFor(() => {
        pool.emit('workerExit', { worker: 0, pid: 1, exitCode: 1, signal: null, expected: false });
        return counts.every((c) => c > 0);
      }, 'every subscriber to get events');
      expect(pool.listenerCount('workerExit')).toBe(1);
    } finally {
      for (const unsubscribe of unsubscribes) unsubscribe();
    }
    await waitFor(() => pool.listenerCount('workerExit') === 0, 'the listeners to be removed when the last client leaves');
    await server.close();
  });

  it('answers malformed requests with an error and keeps the connection; a __proto__ key changes nothing', async () => {
    const server = await startControlServer(new FakePool(), { name: 'eps', dir: freshDir() });
    const lines = await exchange(server.path, 'nonsense\n{"id":2,"op":"frobnicate"}\n{"id":3,"op":"stats","__proto__":{"polluted":1}}\n', 3);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ id: null, ok: false, error: { code: 'ERR_CONTROL_REQUEST' } });
    expect(JSON.parse(lines[1] as string)).toMatchObject({ id: 2, ok: false, error: { message: expect.stringContaining('Unknown op') } });
    expect(JSON.parse(lines[2] as string)).toMatchObject({ id: 3, ok: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await server.close();
  });

  it('hangs up on a request longer than 64 KiB', async () => {
    const server = await startControlServer(new FakePool(), { name: 'zeta', dir: freshDir() });
    const lines = await exchange(server.path, 'x'.repeat(70 * 1024));
    expect(JSON.parse(lines[0] as string)).toMatchObject({ ok: false, error: { message: expect.stringContaining('longer than') } });
    await server.close();
  });

  it('hangs up on a whole request line longer than 64 KiB too (not only on an unfinished one), answering nothing after it', async () => {
    const server = await startControlServer(new FakePool(), { name: 'eta', dir: freshDir() });
    const long = JSON.stringify({ id: 5, op: 'stats', pad: 'x'.repeat(100_000) });
    const lines = await exchange(server.path, `${long}\n{"id":6,"op":"stats"}\n`, 2); // resolves when the server closes
    expect(lines.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ id: null, ok: false, error: expect.objectContaining({ message: expect.stringContaining('longer than') }) })]);
    await server.close();
  });

  it('closes the connection both ways on a request over 64 KiB: what the client goes on sending is not read', async () => {
    // Before: it only ended its own side, and read (and decoded) everything the client sent, 128 MiB here.
    const server = await startControlServer(new FakePool(), { name: 'flood', dir: freshDir() });
    const socket = net.connect(server.path);
    socket.on('error', () => {}); // EPIPE once the server has hung up
    let closed = false;
    socket.on('close', () => (closed = true));
    await new Promise((resolve) => socket.once('connect', resolve));
    const mebibyte = 'x'.repeat(1 << 20);
    let sent = 0;
    while (!socket.destroyed && sent < 128) {
      await new Promise((resolve) => socket.write(mebibyte, resolve));
      sent++;
    }
    expect(sent).toBeLessThan(128); // the server hung up before it had it all
    socket.destroy();
    await waitFor(() => closed, 'the client socket to close');
    await server.close();
  });

  it('closes a connection that sends nothing for idleTimeout, and keeps an events subscriber, however quiet', async () => {
    // Before: a client that connected and never sent (or never hung up) held a descriptor of the pool's process for ever.
    const server = await startControlServer(new FakePool(), { name: 'idle', dir: freshDir(), idleTimeout: 200 });
    let subscriberClosed = false;
    const unsubscribe = subscribeControlEvents(server.path, () => {}, () => (subscriberClosed = true));
    const idle = net.connect(server.path);
    idle.on('error', () => {});
    let idleClosed = false;
    idle.on('close', () => (idleClosed = true));
    await waitFor(() => idleClosed, 'the silent client to be hung up on');
    expect(subscriberClosed).toBe(false); // connected before it, silent since its request
    unsubscribe();
    await server.close();
    await expect(startControlServer(new FakePool(), { name: 'idle', dir: freshDir(), idleTimeout: -1 })).rejects.toThrow('Expected `idleTimeout` to be a positive integer (ms), got -1');
  });

  it('tightens a directory of ours that others could read, and refuses a symlink', async () => {
    const loose = freshDir();
    mkdirSync(loose, { mode: 0o755 });
    chmodSync(loose, 0o755);
    const server = await startControlServer(new FakePool(), { name: 'eta', dir: loose });
    expect(lstatSync(loose).mode & 0o777).toBe(0o700);
    await server.close();
    const link = freshDir();
    symlinkSync(loose, link);
    await expect(startControlServer(new FakePool(), { name: 'eta', dir: link })).rejects.toMatchObject({ name: 'ControlChannelError', code: 'ERR_CONTROL_CHANNEL', message: expect.stringContaining('symlink') });
  });

  it('gives a second pool of the same name in one process its own socket', async () => {
    const dir = freshDir();
    const a = await startControlServer(new FakePool(), { name: 'same', dir });
    const b = await startControlServer(new FakePool(), { name: 'same', dir });
    expect(b.path).not.toBe(a.path);
    expect(listControlSockets(dir).map((s) => [s.name, s.instance])).toEqual([['same', 1], ['same', 2]]);
    await Promise.all([a.close(), b.close()]);
  });

  it("names a pool's socket by the pool's instance number: one socket per pool, the number free again once closed", async () => {
    const dir = freshDir();
    const pool = new FakePool();
    const first = await startControlServer(pool, { name: 'inst', dir });
    const second = await startControlServer(new FakePool(), { name: 'inst', dir });
    expect(path.basename(second.path)).toBe(`${process.pid}@inst@2.sock`);
    // Before: a third socket (@3), which its workers' titles (instance 1) did not name.
    await expect(startControlServer(pool, { name: 'inst', dir })).rejects.toMatchObject({ code: 'ERR_CONTROL_CHANNEL', message: expect.stringContaining('already has a control socket') });
    await first.close();
    const third = await startControlServer(new FakePool(), { name: 'inst', dir });
    expect(third.path).toBe(first.path);
    await Promise.all([second.close(), third.close()]);
  });
});
