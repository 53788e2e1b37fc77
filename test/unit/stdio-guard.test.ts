/**
 * A worker's stdout and stderr are guarded as Node makes them, not before: a reader that goes
 * away (EPIPE, EIO) costs a write, not the worker; any other error is thrown as before.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { guardStdio } from '../../src/child/stdio-guard.ts';

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
