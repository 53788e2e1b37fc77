/**
 * A worker's stdout and stderr are guarded as Node makes them, not before: a reader that goes
 * away (EPIPE, EIO) costs a write, not the worker; any other error is thrown as before.
 */
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { flushStdio, guardStdio } from '../../src/child/stdio-guard.ts';

/** An object with lazy `stdout`/`stderr` getters as `process` has, counting the streams made. */
function fakeProcess(): { target: { stdout: EventEmitter; stderr: EventEmitter }; made: string[] } {
  const made: string[] = [];
  const target = {} as { stdout: EventEmitter; stderr: EventEmitter };
  for (const name of ['stdout', 'stderr']) {
    let stream: EventEmitter | undefined;
    Object.defineProperty(target, name, {
      configurable: true,
      enumerable: true,
      get: () => {
        if (stream === undefined) made.push(name);
        return (stream ??= new EventEmitter());
      },
    });
  }
  return { target, made };
}

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`write ${code}`), { code });

describe('guardStdio', () => {
  it('makes no stream: each is guarded when it is first read, once', () => {
    const { target, made } = fakeProcess();
    guardStdio(target);
    expect(made).toEqual([]);
    expect(target.stderr).toBe(target.stderr);
    expect(made).toEqual(['stderr']);
    expect(target.stderr.listenerCount('error')).toBe(1);
    expect(Object.getOwnPropertyDescriptor(target, 'stdout')).toMatchObject({ configurable: true, enumerable: true });
  });

  it('drops EPIPE and EIO on stdout and stderr', () => {
    const { target } = fakeProcess();
    guardStdio(target);
    for (const stream of [target.stdout, target.stderr]) {
      expect(() => stream.emit('error', errno('EPIPE'))).not.toThrow();
      expect(() => stream.emit('error', errno('EIO'))).not.toThrow();
    }
  });

  it('throws another error, as an unhandled error event does, unless someone else listens', () => {
    const { target } = fakeProcess();
    guardStdio(target);
    expect(() => target.stdout.emit('error', errno('ENOSPC'))).toThrow('write ENOSPC');
    const seen: unknown[] = [];
    target.stdout.on('error', (error) => seen.push(error));
    expect(() => target.stdout.emit('error', errno('ENOSPC'))).not.toThrow();
    expect(seen).toHaveLength(1);
  });
});

describe('flushStdio', () => {
  it('makes no stream, and waits until what was written to the streams made is done', async () => {
    const made: string[] = [];
    const pending: Array<() => void> = [];
    const target = {} as { stdout: Writable };
    // A pipe that takes nothing until it is read: each write waits for its turn.
    const stream = new Writable({ write: (_chunk, _encoding, done) => pending.push(done) });
    Object.defineProperty(target, 'stdout', { configurable: true, get: () => (made.push('stdout'), stream) });
    guardStdio(target);
    await flushStdio();
    expect(made).toEqual([]);
    target.stdout.write('a');
    target.stdout.write('b');
    let flushed = false;
    const flushing = flushStdio().then(() => (flushed = true));
    for (let turns = 0; turns < 5; turns++) await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toBe(false);
    while (pending.length > 0) pending.shift()?.();
    await flushing;
    expect(stream.writableLength).toBe(0);
  });
});
