import { describe, expect, it } from 'vitest';
import { parentScope, poolScope, sanitizePath, sanitizeSegment, sanitizeTags, sanitizeTagValue, workerScope } from '../../../src/metrics/names.ts';
import { round } from '../../../src/metrics/batch.ts';

describe('metric names', () => {
  it('sanitises a segment so it cannot add levels or break the line protocol', () => {
    expect(sanitizeSegment('demo')).toBe('demo');
    expect(sanitizeSegment('a.b')).toBe('a_b');
    expect(sanitizeSegment('x:1|c\n#@,;=y')).toBe('x_1_c______y');
    expect(sanitizeSegment('')).toBe('_');
  });

  it('sanitises a dotted path segment by segment and drops empty segments', () => {
    expect(sanitizePath('looppool..demo.worker.3.')).toBe('looppool.demo.worker.3');
    expect(sanitizePath('my app.p|x')).toBe('my_app.p_x');
    expect(sanitizePath('')).toBe('');
  });

  it('sanitises tag values but keeps dots, slashes and dashes', () => {
    expect(sanitizeTagValue('eu-west.1/a')).toBe('eu-west.1/a');
    expect(sanitizeTagValue('a:b,c|d#e@f=g h')).toBe('a_b_c_d_e_f_g_h');
    expect(sanitizeTags({ 'k:x': 'v,1', env: 'prod' })).toEqual({ k_x: 'v_1', env: 'prod' });
  });

  it('puts pool and worker number in the path for plain statsd', () => {
    expect(poolScope('demo', false)).toEqual({ prefix: 'demo', tags: {} });
    expect(workerScope('demo', 3, false)).toEqual({ prefix: 'demo.worker.3', tags: {} });
    expect(parentScope('demo', false)).toEqual({ prefix: 'demo.parent', tags: {} });
    expect(workerScope('a.b', 0, false).prefix).toBe('a_b.worker.0');
  });

  it('puts pool and worker number in tags when tags are on', () => {
    expect(poolScope('demo', true)).toEqual({ prefix: '', tags: { pool: 'demo' } });
    expect(workerScope('demo', 3, true)).toEqual({ prefix: 'worker', tags: { pool: 'demo', worker: '3' } });
    expect(parentScope('demo', true)).toEqual({ prefix: 'parent', tags: { pool: 'demo' } });
  });

  it('rounds values to 3 decimals so they never print in exponent notation', () => {
    expect(round(1.23456)).toBe(1.235);
    expect(round(1e-7)).toBe(0);
    expect(String(round(0.0004))).toBe('0');
    expect(round(123456789)).toBe(123456789);
  });
});
