/**
 * The records `looppool run` writes and the durations it sums up, in process: a result is
 * written as JSON whichever path it takes (plain values skip the replacer), and the histogram's
 * percentiles stay within its 2 % buckets.
 */
import { describe, expect, it } from 'vitest';
import { Histogram } from '../../src/cli/run/histogram.ts';
import { jsonReplacer, recordLine } from '../../src/cli/run/records.ts';

/** What the record holds, written the slow way (always through the replacer). */
const viaReplacer = (value: unknown): string => JSON.stringify(value === undefined ? null : value, jsonReplacer) ?? 'null';
const field = (text: string): string => text.slice('{"line":7,"result":'.length, -2);

describe('recordLine', () => {
  it('writes plain JSON values as JSON.stringify does', () => {
    for (const value of [0, -1.5, 'a"b\n', true, null, [1, [2, { a: 'x' }]], { a: 1, b: [null, 'é'], c: { d: {} } }, NaN, Infinity, Object.assign(Object.create(null), { k: 1 })]) {
      const line = recordLine(7, 'result', value);
      expect(line.endsWith('}\n')).toBe(true);
      expect(field(line)).toBe(JSON.stringify(value));
    }
  });

  it('writes what JSON cannot carry through the replacer, nested or not', () => {
    class Point {
      x = 1;
      y = 2;
    }
    const values: unknown[] = [
      undefined,
      10n,
      new Map([['a', 1]]),
      new Set([1, 2]),
      new Uint8Array([1, 2]),
      new Error('boom'),
      new Point(),
      new Date(0),
      { a: undefined, b: 1 },
      [undefined, () => 1],
      { nested: { deeper: [{ big: 2n ** 70n, set: new Set(['x']) }] } },
      { toJSON: () => 'custom' },
    ];
    for (const value of values) expect(field(recordLine(7, 'result', value))).toBe(viaReplacer(value));
    expect(field(recordLine(7, 'result', { nested: [2n] }))).toBe('{"nested":["2"]}');
  });

  it('handles nesting deeper than its quick check looks, and throws on a cycle', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = i % 2 ? [deep] : { d: deep };
    expect(field(recordLine(7, 'result', deep))).toBe(JSON.stringify(deep));
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    expect(() => recordLine(7, 'result', cycle)).toThrow(TypeError);
  });

  it('writes a record with no line for a result outside any task', () => {
    expect(recordLine(null, 'extra', { n: 1 })).toBe('{"extra":{"n":1}}\n');
  });
});

describe('Histogram', () => {
  it('gives p50, p99 and max within 2 %, zero and sub-microsecond values included', () => {
    const h = new Histogram();
    expect(h.summary()).toEqual({ p50: 0, p99: 0, max: 0 });
    for (let i = 1; i <= 1000; i++) h.record(i / 10); // 0.1 … 100 ms
    for (let i = 0; i < 10; i++) h.record(0);
    expect(h.count).toBe(1010);
    const { p50, p99, max } = h.summary();
    expect(max).toBe(100);
    expect(Math.abs(p50 - 49.5) / 49.5).toBeLessThan(0.02); // rank 505 of 1010: after the 10 zeros, 49.5 ms
    expect(Math.abs(p99 - 99) / 99).toBeLessThan(0.02); // rank 1000: 99.0 ms
  });

  it('keeps durations beyond its last bucket, and their max', () => {
    const h = new Histogram();
    h.record(1e12);
    h.record(1);
    expect(h.summary().max).toBe(1e12);
    expect(h.percentile(100)).toBeGreaterThan(1e6);
  });
});
