import { describe, expect, it } from 'vitest';
import { SerializationError } from '../../src/errors.ts';
import { deserializeError, serializeError } from '../../src/protocol/serialized-error.ts';
import { parseToChild, parseToParent, MessageShapeError } from '../../src/protocol/parse.ts';
import { encodePayload } from '../../src/transport/encode.ts';
import { isJsonSafe } from '../../src/transport/inspect-value.ts';

describe('what crosses the channel', () => {
  it('takes the JSON fast path only for values JSON carries exactly', () => {
    for (const v of [1, 'a', true, null, [1, [2]], { a: { b: [null] } }, Object.create(null)]) expect(isJsonSafe(v)).toBe(true);
    for (const v of [undefined, NaN, -0, Infinity, 1n, new Date(), new Map(), [undefined], { a: undefined }, { toJSON: () => 1 }]) {
      expect(isJsonSafe(v)).toBe(false);
    }
  });

  it.each([
    [{ a: [1, { f: () => 1 }] }, 'function', 'task.a[1].f'],
    [{ s: Symbol('s') }, 'symbol', 'task.s'],
    [{ when: new (class Moment {})() }, 'class', 'task.when'],
    [new Map([['k', { f() {} }]]), 'function', 'task.get("k").f'],
    [{ 'odd key': [() => 1] }, 'function', 'task["odd key"][0]'],
    [{ e: Object.assign(new Error('x'), { code: 'E' }) }, 'unsupported', 'task.e'],
  ])('refuses %o with reason %s at path %s', (value, reason, path) => {
    try {
      encodePayload(value, 'task', 1 << 20);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SerializationError);
      expect((error as SerializationError).reason).toBe(reason);
      expect((error as SerializationError).path).toBe(path);
    }
  });

  it('refuses structures deeper than 1000 levels', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 1500; i++) deep = [deep];
    expect(() => encodePayload(deep, 'task', 1 << 30)).toThrow(/nesting deeper than 1000/);
  });

  it('refuses values over the size limit', () => {
    expect(() => encodePayload('x'.repeat(100), 'task', 50)).toThrow(/exceed maxMessageBytes \(50\)/);
    expect(() => encodePayload(new Map([[1, 'x'.repeat(100)]]), 'task', 50)).toThrow(/exceed maxMessageBytes/);
  });
});

describe('errors across processes', () => {
  it('keeps name, message, stack, own properties and the cause chain', () => {
    const error = Object.assign(new TypeError('bad', { cause: new RangeError('inner') }), { code: 'E_BAD', meta: { n: 1 } });
    const back = deserializeError(JSON.parse(JSON.stringify(serializeError(error)))) as Error & { code: string; meta: unknown };
    expect(back.name).toBe('TypeError');
    expect(back.message).toBe('bad');
    expect(back.stack).toBe(error.stack);
    expect(back.code).toBe('E_BAD');
    expect(back.meta).toEqual({ n: 1 });
    expect((back.cause as Error).name).toBe('RangeError');
  });

  it('describes thrown non-errors and unsendable properties instead of failing', () => {
    expect(serializeError('just a string')).toEqual({ name: 'NonError', message: 'just a string' });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const data = serializeError(Object.assign(new Error('x'), { fn: () => 1, circular }));
    expect(typeof data.props?.fn).toBe('string');
    expect(typeof data.props?.circular).toBe('string');
  });

  it('cannot be used to pollute prototypes when rebuilt', () => {
    const back = deserializeError(JSON.parse('{"name":"E","message":"m","props":{"__proto__":{"polluted":1},"constructor":{"x":1}}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(back)).toBe(Error.prototype);
  });
});

describe('parsing messages at the boundary', () => {
  it('accepts well-formed messages and rejects foreign or malformed ones', () => {
    expect(parseToParent([1, 3, { v: 1 }])).toEqual([1, 3, { v: 1 }]);
    expect(parseToParent({ kind: 'pong', id: 2 })).toEqual({ kind: 'pong', id: 2 });
    expect(parseToChild([0, 1, 1, 'x'])).toEqual([0, 1, 1, 'x']);
    const bads = [null, [], [0, 1, 1], [1, -1], [1, '1'], [1, 1, 2, 3], 'x', { kind: 'nope' }, { kind: 'taskDone', id: 1 }, { kind: 'taskFailed', id: 1, error: {} }];
    for (const bad of bads) expect(() => parseToParent(bad)).toThrow(MessageShapeError);
    expect(() => parseToChild([1, 1])).toThrow(MessageShapeError);
    expect(() => parseToChild([0, 1, 1.5])).toThrow(MessageShapeError);
  });
});
