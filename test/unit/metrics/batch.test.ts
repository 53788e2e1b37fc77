import StatsD from 'hot-shots';
import { describe, expect, it } from 'vitest';
import { MetricBatch, round } from '../../../src/metrics/batch.ts';
import { LINE_PATTERN } from './helpers.ts';

const plain = { prefix: 'p', tags: {} };
const tagged = { prefix: 'p', tags: { pool: 'demo' } };

function sent(fill: (batch: MetricBatch) => void): string[] {
  const client = new StatsD({ mock: true });
  const batch = new MetricBatch();
  fill(batch);
  expect(batch.send(client)).toBeUndefined();
  return client.mockBuffer as string[];
}

describe('MetricBatch', () => {
  it('never writes a value in exponent notation: huge values go as their digits, with and without tags', () => {
    const lines = sent((b) => {
      b.gauge(plain, 'g', 1e21);
      b.count(plain, 'c', 1e21);
      b.timing(plain, 't', 2.5e22);
      b.gauge(tagged, 'gt', 1e21);
      b.count(tagged, 'ct', -1e21);
      b.gauge(plain, 'max', Number.MAX_VALUE);
    });
    expect(lines.slice(0, 5)).toEqual([
      'p.g:1000000000000000000000|g',
      'p.c:1000000000000000000000|c',
      'p.t:25000000000000000000000|ms',
      'p.gt:1000000000000000000000|g|#pool:demo',
      'p.ct:-1000000000000000000000|c|#pool:demo',
    ]);
    expect(lines[5]).toBe(`p.max:17976931348623157${"0".repeat(292)}|g`); // not Infinity: ×1000 would overflow
    for (const line of lines) expect(line).toMatch(LINE_PATTERN);
  });

  it('keeps at most 3 decimals and sends tiny values as 0', () => {
    expect(sent((b) => {
      b.gauge(plain, 'a', 12.3456789);
      b.gauge(plain, 'b', 0.0000001);
      b.count(plain, 'c', 2 ** 60);
    })).toEqual(['p.a:12.346|g', 'p.b:0|g', `p.c:${2 ** 60}|c`]);
    expect(round(999_999_999_999_999_900_000)).toBe(999_999_999_999_999_900_000);
  });
});
