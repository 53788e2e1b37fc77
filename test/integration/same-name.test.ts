/**
 * Pools of one name in one process (two pools without `name` are both 'pool'): each has its
 * instance number among the running pools of that name, in its workers' titles, and a pool that
 * starts beside another of its name is warned once that their metrics and Sentry events mix.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Pool } from 'looppool';
import { readProcess } from '../../src/cli/proc/process-table.ts';
import { makePool } from '../helpers/pools.ts';

let counter = 0;
/** A name no other test of the run uses: the warning is said once per name in a process. */
const uniqueName = (prefix: string): string => `${prefix}-${process.pid}-${++counter}`;

const titles = (pool: Pool): (string | undefined)[] => pool.stats().workers.map((w) => readProcess(w.pid)?.argv0);

let warnings: (Error & { code?: string })[] = [];
const onWarning = (warning: Error): void => void warnings.push(warning);
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => void process.off('warning', onWarning));

/** The duplicate-name warnings so far (a warning is emitted on a later tick). */
async function duplicateWarnings(): Promise<(Error & { code?: string })[]> {
  await new Promise((resolve) => setImmediate(resolve));
  return warnings.filter((w) => w.code === 'LOOPPOOL_DUPLICATE_NAME');
}

describe('pools of one name in one process', () => {
  it('number their workers: the first pool keeps its titles, the second carries @2, a later one the lowest free number', async () => {
    // Before: every pool of the name titled its workers `looppool <name> worker <n>`: ps could not tell them apart.
    const name = uniqueName('inst');
    const first = makePool({ worker: 'echo.mjs', size: 1, name });
    const second = makePool({ worker: 'echo.mjs', size: 2, name });
    await first.start();
    await second.start();
    expect(titles(first)).toEqual([`looppool ${name} worker 0`]);
    expect(titles(second)).toEqual([`looppool ${name}@2 worker 0`, `looppool ${name}@2 worker 1`]);
    await first.stop();
    const third = makePool({ worker: 'echo.mjs', size: 1, name });
    await third.start();
    expect(titles(third)).toEqual([`looppool ${name} worker 0`]); // 1 is free again
    expect(await second.run('still @2')).toBe('still @2');
    await Promise.all([second.stop(), third.stop()]);
  });

  it('warns once, when the second pool of a name starts beside the first, saying what mixes', async () => {
    const name = uniqueName('dup');
    const first = makePool({ worker: 'echo.mjs', size: 1, name });
    await first.start();
    expect(await duplicateWarnings()).toEqual([]);
    const second = makePool({ worker: 'echo.mjs', size: 1, name });
    await second.start();
    const said = await duplicateWarnings();
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ name: 'LooppoolWarning', message: expect.stringContaining(`Another pool named '${name}' is running in this process`) });
    expect(said[0]?.message).toMatch(/statsd metric names and Sentry tags .* Give each pool its own `name` option/);
    const other = makePool({ worker: 'echo.mjs', size: 1, name: uniqueName('other') });
    await other.start();
    expect(await duplicateWarnings()).toHaveLength(1); // a pool of another name: nothing more
  });

  it('does not warn when the other pool of the name has stopped, and does once one starts beside the one running', async () => {
    const name = uniqueName('seq');
    const first = makePool({ worker: 'echo.mjs', size: 1, name });
    await first.start();
    await first.stop();
    const second = makePool({ worker: 'echo.mjs', size: 1, name });
    await second.start();
    expect(await duplicateWarnings()).toEqual([]);
    expect(titles(second)).toEqual([`looppool ${name} worker 0`]);
    const third = makePool({ worker: 'echo.mjs', size: 1, name });
    await third.start();
    expect(await duplicateWarnings()).toHaveLength(1);
    expect(titles(third)).toEqual([`looppool ${name}@2 worker 0`]);
  });
});
