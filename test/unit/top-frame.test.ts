/** What `looppool top` prints of the pools' recent events and when no pool matches (the frame alone, no process). */
import { describe, expect, it } from 'vitest';
import type { LivePool } from '../../src/cli/proc/pool-view.ts';
import { renderTop, type TopEvent } from '../../src/cli/top/frame.ts';

const at = '2026-12-06T16:07:41.000Z';
const render = (events: TopEvent[], target?: string): string[] => renderTop([], events, new Date(at), 1000, target);

describe('looppool top: the frame', () => {
  it('prints a blocked loop as its worker, how long, and where (not the raw report)', () => {
    const frames = [{ functionName: 'processMessage', url: 'file:///srv/app/workers/resize.mjs', line: 12, column: 5 }, { functionName: 'run', url: 'file:///srv/app/x.mjs', line: 1, column: 1 }];
    const lines = render([
      { pool: 'img', event: { event: 'loopBlocked', at, data: { worker: 0, pid: 17577, blockedMs: 536, frames, stack: '' } } },
      { pool: 'img', event: { event: 'loopBlocked', at, data: { worker: 1, pid: 17578, blockedMs: 120, frames: [], stack: '', stackUnavailable: 'inspectorInUse' } } },
    ]);
    expect(lines.slice(-2)).toEqual([
      '  16:07:41  img  worker 0 (pid 17577) loop blocked 536 ms in processMessage (resize.mjs:12)',
      '  16:07:41  img  worker 1 (pid 17578) loop blocked 120 ms (no stack: inspectorInUse)',
    ]);
  });

  it("prints a worker's error as its origin, name and message", () => {
    const lines = render([
      { pool: 'img', event: { event: 'workerError', at, data: [{ name: 'TypeError', message: 'x is not a function' }, { worker: 2, pid: 99, origin: 'uncaughtException' }] } },
    ]);
    expect(lines.at(-1)).toBe('  16:07:41  img  worker 2 (pid 99) uncaughtException: TypeError: x is not a function');
  });

  // Before: cut at 200 UTF-16 units, a message of emoji could end in half of one (a lone surrogate, printed as garbage).
  it("cuts a long error message at 200 columns, never inside a character", () => {
    const message = `x${'😀'.repeat(150)}`;
    const lines = render([{ pool: 'img', event: { event: 'workerError', at, data: [{ name: 'Error', message }, { worker: 2, pid: 99, origin: 'uncaughtException' }] } }]);
    const described = (lines.at(-1) as string).slice('  16:07:41  img  '.length);
    expect(described).toBe(`worker 2 (pid 99) uncaughtException: Error: x${'😀'.repeat(77)}`); // 199 columns: one more emoji would take 201
    expect(/\p{Surrogate}/u.test(described)).toBe(false);
  });

  // A pool whose parent was stopped (SIGSTOP) or busy was said to have no channel, while ps listed it with one.
  it('tells a pool without a control channel from one whose channel did not answer', () => {
    const pool = (control: string | null): LivePool => ({
      name: 'frz', instance: 1, pid: 10, cpuPercent: 0, rssBytes: 1, uptimeMs: 1, command: 'looppool frz', cli: true, orphaned: false, uid: 0, control, workers: [], live: undefined,
    });
    const summary = (p: LivePool): string | undefined => renderTop([p], [], new Date(at), 1000)[3];
    expect(summary(pool(null))).toBe('  (no control channel: process figures only)');
    expect(summary(pool('/run/user/0/looppool/frz.10.sock'))).toBe('  (its control channel did not answer: process figures only)');
  });

  it('heads a further pool of a name in its process with its instance (name@2)', () => {
    // Before: two pools one process gave the same name were one pool, under the first one's socket.
    const pool = (instance: number): LivePool => ({
      name: 'twin', instance, pid: 10, cpuPercent: 0, rssBytes: 1, uptimeMs: 1, command: 'node app.js', cli: false, orphaned: false, uid: 0, control: null, workers: [], live: undefined,
    });
    const lines = renderTop([pool(1), pool(2)], [], new Date(at), 1000);
    expect(lines.filter((l) => l.includes('pid 10'))).toEqual(['twin  pid 10  node app.js', 'twin@2  pid 10  node app.js']);
  });

  it('says which name matched nothing, and that no pool runs when none was named', () => {
    expect(render([], 'extract')).toContain('No looppool pool matches "extract".');
    expect(render([])).toContain('No looppool pools are running.');
  });
});
