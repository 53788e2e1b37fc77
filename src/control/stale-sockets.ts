/**
 * Telling a control socket nobody serves from one a pool listens on, by connecting to it.
 * The pid in a socket's name says nothing about that: containers that share the control
 * directory (a bind-mounted /tmp or XDG_RUNTIME_DIR, same uid) name their sockets for pids of
 * their own PID namespace, which `kill(pid, 0)` here answers for another process or for none.
 * A Unix socket bound to a path is reachable from every namespace that sees the path.
 * Built-ins it needs only when used come from `process.getBuiltinModule()` there: an ES import
 * would load them (and run their lazy getters) in every process that imports looppool.
 */
import type net from 'node:net';
import { ControlChannelError } from './errors.ts';
import { listControlSockets } from './runtime-dir.ts';

/**
 * What a connection to a socket file found: `listening` (a server accepted; hung up at once),
 * `refused` (ECONNREFUSED: nothing listens on it), `absent` (no such file), `unknown` (anything
 * else: no permission, a listen queue full, no answer in time), which counts as alive.
 */
export type SocketState = 'listening' | 'refused' | 'absent' | 'unknown';

/** A connection to a Unix socket is answered at once either way: the limit only guards a pathological case. */
const PROBE_TIMEOUT_MS = 250;
/**
 * A refused socket is removed only once its file is this old. Another process binds its socket
 * and then listens on it: a connection between the two is refused, and its new socket would be
 * removed. Its bind gave the file its mtime, so one that young is left for a later sweep.
 */
const STALE_AFTER_MS = 10_000;
/**
 * Probes in flight at most. Each holds a descriptor while it connects: a directory of thousands
 * of stale sockets, all probed at once, took every descriptor a process may have (EMFILE), and the
 * pool's own socket, the sweep's other probes and the application's files were refused meanwhile.
 */
const MAX_PROBES = 16;

/** What a probe found, and for `unknown` why (an error code such as EMFILE, or the timeout). */
export interface Probe {
  readonly state: SocketState;
  readonly why?: string;
}

/** Connect to the Unix socket at `path` and hang up at once; never rejects. */
export function probeSocket(path: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<Probe> {
  return new Promise((resolve) => {
    let socket: net.Socket;
    try {
      socket = process.getBuiltinModule('node:net').connect(path);
    } catch (error) {
      resolve({ state: 'unknown', why: (error as Error).message });
      return;
    }
    const settle = (probe: Probe): void => {
      socket.destroy();
      resolve(probe);
    };
    socket.setTimeout(timeoutMs, () => settle({ state: 'unknown', why: `no answer within ${timeoutMs} ms` }));
    socket.once('connect', () => settle({ state: 'listening' }));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      settle(err.code === 'ECONNREFUSED' ? { state: 'refused' } : err.code === 'ENOENT' ? { state: 'absent' } : { state: 'unknown', why: err.code ?? err.message }),
    );
  });
}

/**
 * Remove the sockets in `dir` that nothing listens on: a pool killed with SIGKILL (`terminate()`
 * of a pool around it, a hard timeout of the worker it ran in) never removed its own, and they
 * piled up. Tried MAX_PROBES at a time; `isOurs(path)` names the paths this process binds, left
 * alone whatever they answer (one may be between its bind and its listen). Never rejects.
 */
export async function removeDeadSockets(dir: string, isOurs: (path: string) => boolean): Promise<void> {
  const paths = listControlSockets(dir).map((s) => s.path).filter((path) => !isOurs(path));
  const probeNext = async (): Promise<void> => {
    for (let path = paths.pop(); path !== undefined; path = paths.pop()) {
      if ((await probeSocket(path)).state === 'refused' && !isOurs(path)) removeIfOld(path);
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAX_PROBES, paths.length) }, probeNext));
}

/** Unlink `path` unless its file was made in the last STALE_AFTER_MS (a socket being bound now, maybe in place of the refused one). */
function removeIfOld(path: string): void {
  const fs = process.getBuiltinModule('node:fs');
  try {
    if (Date.now() - fs.lstatSync(path).mtimeMs < STALE_AFTER_MS) return;
    fs.unlinkSync(path);
  } catch {
    // gone already, or not ours to remove
  }
}

/**
 * Make `path`, the socket this process is about to bind, free: a stale socket there (an earlier
 * process that had our pid: a container restarted, its pool pid 1 again) is removed. One that
 * answers belongs to a pool of another PID namespace sharing this directory with our pid and our
 * name: unlinking it would take it away from that pool's `looppool top`/`stop`, so it is left, and
 * this pool goes without a channel.
 * @throws {ControlChannelError}
 */
export async function freeSocketPath(path: string): Promise<void> {
  const { state, why } = await probeSocket(path);
  if (state === 'absent') return;
  if (state === 'refused') {
    await process.getBuiltinModule('node:fs/promises').unlink(path).catch(() => {});
    return;
  }
  if (state === 'unknown') throw new ControlChannelError(`Cannot tell whether a process serves ${path} (${why ?? 'unknown'}): left as it is`);
  throw new ControlChannelError(`${path} is served by another process (a pool of another PID namespace that shares this directory, with this pid and name?): left to it`);
}
