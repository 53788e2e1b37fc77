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
  });

  it('replaces the value of an id already there, and clears', () => {
    const table = new IdTable<number>();
    table.set(7, 1);
    table.set(7, 2);
    table.set(7 + 64, 3); // same home slot
    expect([table.size, table.get(7), table.get(71)]).toEqual([2, 2, 3]);
    expect(table.delete(7)).toBe(true);
    expect(table.get(71)).toBe(3); // shifted back into the freed slot, still found
    table.clear();
    expect([table.size, table.get(71), table.keys()]).toEqual([0, undefined, []]);
  });
});
