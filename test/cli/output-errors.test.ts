/**
 * The command's own writes to stdout and stderr: a reader gone (EPIPE) or a terminal that hung
 * up (EIO, after a SIGHUP) is no crash; any other error on stdout still is, when no one handles it.
 */
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { ROOT } from './helpers.ts';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`write ${code}`), { code });

describe('main: errors of its own stdout and stderr', () => {
  it('drops EPIPE and EIO on stdout and every error on stderr; throws another stdout error no one handles', async () => {
    const io = { stdin: Readable.from([]), stdout: new PassThrough(), stderr: new PassThrough(), env: {}, cwd: ROOT };
    expect(await main(['--version'], io)).toBe(0);
    for (const code of ['EPIPE', 'EIO']) {
      expect(() => io.stdout.emit('error', errno(code))).not.toThrow();
      expect(() => io.stderr.emit('error', errno(code))).not.toThrow();
    }
    expect(() => io.stderr.emit('error', errno('ENOSPC'))).not.toThrow();
    expect(() => io.stdout.emit('error', errno('ENOSPC'))).toThrow('write ENOSPC');
  });
});
