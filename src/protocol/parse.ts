/**
 * The only place that looks at raw data from the other process. Each function takes `unknown`
 * and returns a typed message or throws {@link MessageShapeError}; handlers then switch on
 * `kind` exhaustively.
 */
import { isSerializedError } from './deserialize-error.ts';
import type { SerializedError } from './serialized-error.ts';
import { DONE, TASK, type TaskDoneTuple, type TaskTuple, type ToChildMessage, type ToParentMessage } from './messages.ts';

/** A message that is not one of ours, or is malformed. */
export class MessageShapeError extends Error {}

type Raw = Record<string, unknown>;

/** Parse a message a child sent to its parent. */
export function parseToParent(raw: unknown): ToParentMessage {
  if (Array.isArray(raw)) return doneTuple(raw);
  const m = asRecord(raw);
  switch (m.kind) {
    case 'taskFailed':
      return m.unsendable === true
        ? { kind: 'taskFailed', id: id(m, 'id'), error: error(m), unsendable: true }
        : { kind: 'taskFailed', id: id(m, 'id'), error: error(m) };
    case 'result':
      return { kind: 'result', task: m.task === null ? null : id(m, 'task'), value: m.value };
    case 'hello':
      return { kind: 'hello', protocol: str(m, 'protocol'), pid: id(m, 'pid') };
    case 'ready':
      return { kind: 'ready' };
    case 'initFailed':
      return { kind: 'initFailed', error: error(m), stage: m.stage === 'initialize' ? 'initialize' : 'load' };
    case 'broadcastDone':
      return { kind: 'broadcastDone', id: id(m, 'id'), value: m.value };
    case 'broadcastFailed':
      return m.unsendable === true
        ? { kind: 'broadcastFailed', id: id(m, 'id'), error: error(m), unsendable: true }
        : { kind: 'broadcastFailed', id: id(m, 'id'), error: error(m) };
    case 'uncaught': {
      const origin = m.origin;
      if (origin !== 'uncaughtException' && origin !== 'unhandledRejection' && origin !== 'dispose') throw bad('uncaught.origin');
      return m.stopping === true ? { kind: 'uncaught', error: error(m), origin, stopping: true } : { kind: 'uncaught', error: error(m), origin };
    }
    case 'stopped':
      return { kind: 'stopped' };
    case 'pong':
      return { kind: 'pong', id: id(m, 'id') };
    case 'reclaimed':
      return { kind: 'reclaimed', ids: ids(m, 'ids') };
    case 'spawned':
      return { kind: 'spawned' };
    default:
      throw bad(`kind ${JSON.stringify(m.kind)}`);
  }
}

/** Parse a message a parent sent to its child. */
export function parseToChild(raw: unknown): ToChildMessage {
  if (Array.isArray(raw)) return taskTuple(raw);
  const m = asRecord(raw);
  switch (m.kind) {
    case 'abort':
      return { kind: 'abort', id: id(m, 'id'), reason: m.reason === 'timeout' ? 'timeout' : 'abort' };
    case 'broadcast':
      return { kind: 'broadcast', id: id(m, 'id'), value: m.value };
    case 'poisonPill':
      return { kind: 'poisonPill', drain: m.drain === true, startWaiting: m.startWaiting === true };
    case 'ping':
      return { kind: 'ping', id: id(m, 'id') };
    case 'reclaim':
      return { kind: 'reclaim', idle: id(m, 'idle'), keep: ids(m, 'keep') };
    case 'init':
      return {
        kind: 'init',
        protocol: str(m, 'protocol'),
        worker: id(m, 'worker'),
        name: str(m, 'name'),
        ...(m.instance === undefined ? {} : { instance: id(m, 'instance') }),
        module: str(m, 'module'),
        value: m.value,
        maxMessageBytes: id(m, 'maxMessageBytes'),
        restartOnError: m.restartOnError !== false,
        ...(typeof m.metrics === 'object' && m.metrics !== null ? { metrics: m.metrics } : {}),
        ...(m.sentry === undefined ? {} : { sentry: sentry(m.sentry) }),
      };
    default:
      throw bad(`kind ${JSON.stringify(m.kind)}`);
  }
}

/** The hot path: checked in place, not copied. */
function doneTuple(raw: unknown[]): TaskDoneTuple {
  if (raw[0] !== DONE || !isId(raw[1]) || raw.length > 3) throw bad('task done tuple');
  return raw as TaskDoneTuple;
}

function taskTuple(raw: unknown[]): TaskTuple {
  if (raw[0] !== TASK || !isId(raw[1]) || !isId(raw[2]) || raw.length > 4) throw bad('task tuple');
  return raw as TaskTuple;
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function sentry(raw: unknown): { dsn: string; environment?: string; release?: string } {
  const m = asRecord(raw);
  const out: { dsn: string; environment?: string; release?: string } = { dsn: str(m, 'dsn') };
  if (m.environment !== undefined) out.environment = str(m, 'environment');
  if (m.release !== undefined) out.release = str(m, 'release');
  return out;
}

function asRecord(raw: unknown): Raw {
  if (typeof raw !== 'object' || raw === null) throw bad('message (not an object)');
  return raw as Raw;
}

function id(m: Raw, key: string): number {
  const v = m[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(key);
  return v;
}

function ids(m: Raw, key: string): number[] {
  const v = m[key];
  if (!Array.isArray(v) || !v.every(isId)) throw bad(key);
  return v as number[];
}

function str(m: Raw, key: string): string {
  const v = m[key];
  if (typeof v !== 'string') throw bad(key);
  return v;
}

function error(m: Raw): SerializedError {
  const v = m.error;
  if (!isSerializedError(v)) throw bad('error');
  return v;
}

function bad(what: string): MessageShapeError {
  return new MessageShapeError(`malformed or foreign message: bad ${what}`);
}
