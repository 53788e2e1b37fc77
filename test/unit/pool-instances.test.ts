/** Instance numbers of the pools of one name in a process (src/internal/pool-instances.ts). */
import { describe, expect, it } from 'vitest';
import { claimInstance } from '../../src/internal/pool-instances.ts';

describe('claimInstance', () => {
  it('numbers the pools of one name from 1, the lowest free first, and gives a number back once released', () => {
    const name = `instances-${process.pid}`;
    const [a, b] = [{}, {}];
    const first = claimInstance(name, a);
    const second = claimInstance(name, b);
    expect([first.instance, first.others, second.instance, second.others]).toEqual([1, 0, 2, 1]);
    expect(claimInstance(name, a).instance).toBe(1); // the same owner, the same number (its control server)
    first.release();
    expect(claimInstance(name, {}).instance).toBe(3); // a's second hold keeps 1
  });

  it('numbers them together across two copies of looppool in one process (two versions in node_modules)', async () => {
    // Before: each copy kept its own table, and a pool of each copy was number 1.
    const copy = '../../src/internal/pool-instances.ts?copy=2'; // a specifier of its own: the module loaded again
    const other = (await import(/* @vite-ignore */ copy)) as typeof import('../../src/internal/pool-instances.ts');
    expect(other.claimInstance).not.toBe(claimInstance); // a second module instance, as a second copy is
    const name = `copies-${process.pid}`;
    const mine = claimInstance(name, {});
    const theirs = other.claimInstance(name, {});
    expect([mine.instance, theirs.instance, theirs.others]).toEqual([1, 2, 1]);
    mine.release();
    theirs.release();
    expect(other.claimInstance(name, {}).instance).toBe(1);
  });
});
