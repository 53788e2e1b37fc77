/**
 * Where control sockets live: one private directory per user (`$XDG_RUNTIME_DIR/looppool` when
 * that directory is the user's, else `<tmpdir>/looppool-<uid>`), mode 0700, checked before any socket is bound in it, so
 * nobody else on the machine can reach a pool's socket.
 * Built-ins it needs only when used come from `process.getBuiltinModule()` there: an ES import
 * would load them (and run their lazy getters) in every process that imports looppool.
 */
import path from 'node:path';
import { ControlChannelError } from './errors.ts';

/** Longest path a Unix socket may have on Linux (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;
const SOCKET_NAME = /^(\d+)@([A-Za-z0-9_.-]+?)(?:@(\d+))?\.sock$/;

/** A control socket found in the runtime directory. */
export interface ControlSocket {
  /** Process id of the process that serves it (the pool's parent). */
  readonly pid: number;
  /** The socket file's owner, when it was checked ({@link listeningControlSockets}). */
  readonly uid?: number;
  /** The pool's name. */
  readonly name: string;
  /** The pool's number among the pools of its name in that process (`<pid>@<name>@2.sock`: 2), 1 for the first. */
  readonly instance: number;
  readonly path: string;
}

/** The current user's control directory (not created): where `looppool ps`, `top` and `stop` look. */
export function controlDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg && path.isAbsolute(xdg) && process.getBuiltinModule('node:fs').existsSync(xdg)) return path.join(xdg, 'looppool');
  return tmpControlDir();
}

/**
 * Where this process makes its control sockets: {@link controlDir}, but an XDG_RUNTIME_DIR that
 * is not this user's own directory counts as none. `su` without `-` and `sudo -E` keep the one
 * of the user before: a pool run as root there made `<it>/looppool` root's, and that user's
 * pools were refused a channel from then on; another user's got none (EACCES).
 */
export function ownControlDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  return xdg && path.isAbsolute(xdg) && isOwnDirectory(xdg) ? path.join(xdg, 'looppool') : tmpControlDir();
}

function tmpControlDir(): string {
  return path.join(process.getBuiltinModule('node:os').tmpdir(), `looppool-${process.getuid?.() ?? 'user'}`);
}

function isOwnDirectory(dir: string): boolean {
  try {
    const stat = process.getBuiltinModule('node:fs').statSync(dir);
    const uid = process.getuid?.();
    return stat.isDirectory() && (uid === undefined || stat.uid === uid);
  } catch {
    return false;
  }
}

/**
 * Create `dir` with mode 0700 if needed, then check that it is a real directory owned by this
 * user and readable by nobody else; tighten its mode if it is ours but too open. Fails closed.
 * @throws {ControlChannelError} when the directory cannot be made private.
 */
export async function ensureControlDir(dir: string): Promise<void> {
  const { chmod, lstat, mkdir } = process.getBuiltinModule('node:fs/promises');
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new ControlChannelError(`Cannot create the control directory ${dir}: ${(err as Error).message}`, { cause: err });
    }
  }
  const stat = await lstat(dir);
  if (!stat.isDirectory()) throw new ControlChannelError(`${dir} is not a directory (a symlink or a file is refused)`);
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw new ControlChannelError(`${dir} belongs to uid ${stat.uid}, not to this user (uid ${uid}): refusing to use it`);
  }
  if ((stat.mode & 0o077) === 0) return;
  try {
    await chmod(dir, 0o700);
  } catch (err) {
    throw new ControlChannelError(`Cannot make ${dir} private (chmod 0700): ${(err as Error).message}`, { cause: err });
  }
  if (((await lstat(dir)).mode & 0o077) !== 0) throw new ControlChannelError(`${dir} is still readable by others after chmod 0700`);
}

/** The socket path of pool `name` in process `pid`; `index` > 1 for a second pool of that name in one process. */
export function socketPath(dir: string, pid: number, name: string, index = 1): string {
  const file = index > 1 ? `${pid}@${name}@${index}.sock` : `${pid}@${name}.sock`;
  const full = path.join(dir, file);
  if (Buffer.byteLength(full) > MAX_SOCKET_PATH) {
    throw new ControlChannelError(`The control socket path ${full} is longer than ${MAX_SOCKET_PATH} bytes; set XDG_RUNTIME_DIR or TMPDIR to a shorter directory`);
  }
  return full;
}

/** A listening socket in /proc/net/unix: its flags (`__SO_ACCEPTCON`) and its path, the rest of the line. */
const LISTENING_UNIX_SOCKET = /^[0-9a-f]+: [0-9a-f]+ [0-9a-f]+ 00010000 [0-9a-f]+ [0-9a-f]+ +\d+ (\/.+)$/;
/** The directories control sockets are made in: `looppool` (under XDG_RUNTIME_DIR) or `looppool-<uid>`. */
const CONTROL_DIR_NAME = /^looppool(?:-\d+)?$/;

/**
 * The control sockets that are listening now, wherever they were made: a pool's directory
 * depends on the XDG_RUNTIME_DIR and TMPDIR it was started with (a cron job or a service has
 * none, or others, than the login shell `looppool stop` runs in). Read from the kernel's list of
 * bound Unix sockets (Linux; elsewhere none); only sockets in a looppool control directory, with
 * their owner: a caller takes one only from the user whose process serves it.
 */
export function listeningControlSockets(): ControlSocket[] {
  const fs = process.getBuiltinModule('node:fs');
  let table: string;
  try {
    table = fs.readFileSync('/proc/net/unix', 'utf8');
  } catch {
    return [];
  }
  const out: ControlSocket[] = [];
  for (const line of table.split('\n')) {
    const found = LISTENING_UNIX_SOCKET.exec(line.trim())?.[1];
    const m = found === undefined ? null : SOCKET_NAME.exec(path.basename(found));
    if (!m || !CONTROL_DIR_NAME.test(path.basename(path.dirname(found as string)))) continue;
    let uid: number;
    try {
      const stat = fs.lstatSync(found as string);
      // In a private directory of the socket's owner, as the pool makes it: not one others may write in.
      if (!stat.isSocket() || !isPrivateDir(path.dirname(found as string), stat.uid)) continue;
      uid = stat.uid;
    } catch {
      continue; // removed since, or in a directory this user cannot see
    }
    out.push({ pid: Number(m[1]), name: m[2] as string, instance: Number(m[3] ?? 1), path: found as string, uid });
  }
  return out;
}

/**
 * The control sockets in `dir`, stale ones included: only a connection tells (refused: nothing
 * listens), not the pid in the name, which is the pool's in its own PID namespace. None when
 * `dir` is not a private directory of this user's (a symlink, someone else's, or one others may
 * write in), where anyone could have put a socket named for one of our pools, to feed `top` false
 * figures or to swallow `stop`'s request.
 */
export function listControlSockets(dir: string = controlDir()): ControlSocket[] {
  let entries: string[];
  try {
    if (!isPrivateDir(dir)) return [];
    entries = process.getBuiltinModule('node:fs').readdirSync(dir);
  } catch {
    return [];
  }
  const out: ControlSocket[] = [];
  for (const entry of entries) {
    const m = SOCKET_NAME.exec(entry);
    if (m) out.push({ pid: Number(m[1]), name: m[2] as string, instance: Number(m[3] ?? 1), path: path.join(dir, entry) });
  }
  return out.sort((a, b) => a.pid - b.pid || a.name.localeCompare(b.name) || a.instance - b.instance);
}

/** A real directory owned by `uid` (this user by default) that nobody else may write in. */
function isPrivateDir(dir: string, uid = process.getuid?.()): boolean {
  const stat = process.getBuiltinModule('node:fs').lstatSync(dir);
  return stat.isDirectory() && (uid === undefined || stat.uid === uid) && (stat.mode & 0o022) === 0;
}
