import { describe, expect, it } from 'vitest';
import { IdTable } from '../../src/internal/id-table.ts';
import { prng } from '../helpers/prng.ts';

describe('IdTable', () => {
  it('behaves like a Map under random inserts, deletes and lookups, through growth and wrap-around', () => {
    const random = prng(11);
    const table = new IdTable<string>(4);
    const model = new Map<number, string>();
    let nextId = 0;
    for (let step = 0; step < 50_000; step++) {
      const r = random();
      if (r < 0.45) {
        // Mostly increasing ids, as tasks get them, plus some far apart (a task running for long).
        const id = random() < 0.9 ? nextId++ : Math.floor(random() * 2 ** 40);
        table.set(id, `v${id}`);
        model.set(id, `v${id}`);
      } else if (r < 0.9 && model.size > 0) {
        const ids = [...model.keys()];
        const id = ids[Math.floor(random() * ids.length)] as number;
        expect(table.delete(id)).toBe(true);
        model.delete(id);
      } else {
        const id = Math.floor(random() * (nextId + 5));
        expect(table.get(id)).toBe(model.get(id));
        expect(table.has(id)).toBe(model.has(id));
        expect(table.delete(-5 - id)).toBe(false);
      }
      expect(table.size).toBe(model.size);
    }
    const sorted = [...model.keys()].sort((a, b) => a - b);
    expect(table.keys()).toEqual(sorted);
    expect(table.values()).toEqual(sorted.map((id) => `v${id}`));
    for (const id of sorted) expect(table.get(id)).toBe(`v${id}`);
    expect(table.every((v) => model.has(Number(v.slice(1))))).toBe(true);
    const some = sorted[Math.floor(sorted.length / 2)] as number;
    expect(table.every((v) => v !== `v${some}`)).toBe(false);
    expect(new IdTable<string>().every(() => false)).toBe(true);
  });

  it('replaces the value of an id already there, finds every other id after each delete, and clears', () => {
    const table = new IdTable<number>();
    table.set(7, 1);
    table.set(7, 2);
    expect([table.size, table.get(7)]).toEqual([1, 2]);
    // Consecutive ids and ids 2^32 apart (the same low 32 bits, so the same home slot), deleted
    // one by one: the entries shifted back into freed slots are still found.
    const ids = [...Array.from({ length: 20 }, (_, i) => 100 + i), 2 ** 32 + 100, 2 ** 33 + 100];
    for (const id of ids) table.set(id, id);
    table.delete(7);
    for (const [k, id] of [3, 0, 20, 5, 21, 19, 1].map((i) => [i, ids[i] as number] as const)) {
      expect(table.delete(id)).toBe(true);
      ids.splice(ids.indexOf(id), 1);
      expect(ids.map((x) => table.get(x)), `after deleting index ${k}`).toEqual(ids);
    }
    expect(table.keys()).toEqual([...ids].sort((a, b) => a - b));
    table.clear();
    expect([table.size, table.get(100), table.keys()]).toEqual([0, undefined, []]);
  });

  it('rejects a capacity that is not a power of two from 2 to 2^30', () => {
    for (const capacity of [0, 1, 3, 100, 2 ** 31, 1.5]) expect(() => new IdTable(capacity)).toThrow(RangeError);
    expect(new IdTable(2).size).toBe(0);
  });
});
