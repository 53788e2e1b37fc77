/** The ring-buffer FIFO (src/internal/deque.ts) behind the parent's queues and streams. */
import { describe, expect, it } from 'vitest';
import { Deque } from '../../src/internal/deque.ts';

describe('Deque', () => {
  it('removeWhere drops what it is told and keeps the rest in order, wrapped or not, and still works after', () => {
    const d = new Deque<number>();
    for (let i = 0; i < 10; i++) d.push(i);
    for (let i = 0; i < 6; i++) d.shift(); // the head moves on: the next pushes wrap around the ring
    for (let i = 10; i < 40; i++) d.push(i);
    expect(d.removeWhere((n) => n % 3 === 0)).toBe(12);
    expect(d.removeWhere(() => false)).toBe(0);
    d.push(40);
    d.unshift(-1);
    expect(d.drain()).toEqual([-1, ...Array.from({ length: 34 }, (_, i) => i + 6).filter((n) => n % 3 !== 0), 40]);
  });

  it('lets the room of a large backlog go once emptied (by shift or pop), and keeps a small one', () => {
    const d = new Deque<number>();
    for (let i = 0; i < 100_000; i++) d.push(i);
    expect(d.capacity).toBe(131_072);
    for (let i = 0; i < 99_999; i++) expect(d.shift()).toBe(i);
    expect(d.capacity).toBe(131_072); // not while one is left
    expect(d.shift()).toBe(99_999);
    expect(d.capacity).toBe(16);
    for (let i = 0; i < 50_000; i++) d.push(i);
    for (let i = 49_999; i >= 0; i--) expect(d.pop()).toBe(i);
    expect(d.capacity).toBe(16);
    for (let i = 0; i < 1_000; i++) d.push(i);
    for (let i = 0; i < 1_000; i++) d.shift();
    expect(d.capacity).toBe(1_024); // a queue that fills and empties often keeps its room
    d.push(7);
    expect(d.drain()).toEqual([7]);
  });

  it('keeps FIFO order across growth and wrap-around', () => {
    const d = new Deque<number>();
    const expected: number[] = [];
    let next = 0;
    // Interleave pushes and shifts so the head wraps while the ring grows past its first 16 slots.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 7; i++) {
        d.push(next);
        expected.push(next++);
      }
      for (let i = 0; i < 3; i++) expect(d.shift()).toBe(expected.shift());
    }
    expect(d.length).toBe(expected.length);
    expect(d.peek()).toBe(expected[0]);
    expect(d.drain()).toEqual(expected);
    expect(d.length).toBe(0);
    expect(d.shift()).toBeUndefined();
    expect(d.peek()).toBeUndefined();
  });

  it('puts back at the front and takes from the back', () => {
    const d = new Deque<string>();
    for (const s of ['b', 'c', 'd']) d.push(s);
    d.unshift('a');
    expect(d.pop()).toBe('d');
    expect(d.drain()).toEqual(['a', 'b', 'c']);
    expect(d.pop()).toBeUndefined();
  });

  it('clears, and is usable again', () => {
    const d = new Deque<number>();
    for (let i = 0; i < 100; i++) d.push(i);
    d.clear();
    expect(d.length).toBe(0);
    expect(d.shift()).toBeUndefined();
    d.push(7);
    expect(d.drain()).toEqual([7]);
  });
});
