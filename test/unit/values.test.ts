import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { SerializationError, TaskError } from '../../src/errors.ts';
import { deserializeError } from '../../src/protocol/deserialize-error.ts';
import { serializeError, type SerializedError } from '../../src/protocol/serialized-error.ts';
import { parseToChild, parseToParent, MessageShapeError } from '../../src/protocol/parse.ts';
import { CLONE_FROM_CHARS, encodePayload } from '../../src/transport/encode.ts';
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
    [{ e: new Error('x', { cause: () => 1 }) }, 'function', 'task.e.cause'],
    [Object.assign([1, 2], { toJSON: () => 'replaced' }), 'function', 'task.toJSON'],
    [{ m: new (class MyMap extends Map<number, number> {})([[1, 2]]) }, 'class', 'task.m'],
    [{ list: (class MyList extends Array {}).from([1]) }, 'class', 'task.list'],
    [Object.assign(new Set([1]), { label: 'x' }), 'unsupported', 'task'],
    [{ shared: new SharedArrayBuffer(8) }, 'unsupported', 'task.shared'],
    // The walk sees a plain object; V8's serializer refuses the Proxy: still a SerializationError.
    [new Proxy({ at: new Date(0) }, {}), 'unsupported', 'task'],
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

  it("refuses a value whose getter throws with a SerializationError, as the same value as a result is (not the getter's own Error)", () => {
    const value = { get g(): number { throw new Error('getter threw'); } };
    expect(() => encodePayload(value, 'task', 1 << 20)).toThrow(expect.objectContaining({ name: 'SerializationError', reason: 'unsupported', path: 'task', message: 'Cannot send task: getter threw' }));
  });

  it('carries a boxed string, whose keys are its characters', () => {
    const boxed = { s: new String('hi') };
    expect(v8.deserialize(encodePayload(boxed, 'task', 1 << 20) as Buffer)).toEqual(boxed);
  });

  it('sends plain data with long strings through V8 (cheaper than JSON), the rest as JSON', () => {
    const page = { url: 'https://example.test/', html: `<p>${'é'.repeat(20_000)}</p>` };
    const bytes = encodePayload(page, 'task', 1 << 20);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect(v8.deserialize(bytes as Buffer)).toEqual(page);
    expect(v8.deserialize(encodePayload('x'.repeat(CLONE_FROM_CHARS), 'task', 1 << 20) as Buffer)).toBe('x'.repeat(CLONE_FROM_CHARS));
    expect(encodePayload('x'.repeat(CLONE_FROM_CHARS - 1), 'task', 1 << 20)).toBe(JSON.stringify('x'.repeat(CLONE_FROM_CHARS - 1)));
    // Many short strings add up to more, but JSON is the faster way for them.
    const rows = Array.from({ length: 2_000 }, (_, i) => ({ name: `row ${i}`, n: i }));
    expect(encodePayload(rows, 'task', 1 << 20)).toBe(JSON.stringify(rows));
    // Values JSON cannot carry go through V8 too, exactly.
    const map = new Map([[1, { at: new Date(0) }]]);
    expect(v8.deserialize(encodePayload(map, 'task', 1 << 20) as Buffer)).toEqual(map);
  });

  it('still enforces the size limit on long strings sent through V8', () => {
    expect(() => encodePayload({ html: 'x'.repeat(40_000) }, 'task', 30_000)).toThrow(/exceed maxMessageBytes \(30000\)/);
    expect(Buffer.isBuffer(encodePayload({ html: 'x'.repeat(40_000) }, 'task', 50_000))).toBe(true);
  });

  it('refuses structures deeper than 1000 levels', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 1500; i++) deep = [deep];
    expect(() => encodePayload(deep, 'task', 1 << 30)).toThrow(/nesting deeper than 1000/);
  });

  it('refuses a structure exactly one level past the limit: 1,000 levels inside the outermost pass, 1,001 do not', () => {
    const nest = (levels: number): unknown => {
      let value: unknown = 1;
      for (let i = 0; i <= levels; i++) value = [value]; // the outermost array, and `levels` inside it
      return value;
    };
    expect(v8.deserialize(encodePayload(nest(1000), 'task', 1 << 30) as Buffer)).toEqual(nest(1000));
    expect(() => encodePayload(nest(1001), 'task', 1 << 30)).toThrow(expect.objectContaining({ reason: 'depth' }));
  });

  it('names the path of a refused value briefly however long its keys or deep its nesting: the message stays readable, and says why', () => {
    // Before: the path held the whole 100,000-character key (the message, twice that), and a refusal
    // 1,001 levels deep wrote out every level.
    const key = 'k'.repeat(100_000);
    const error = captureError(() => encodePayload({ rows: [{ [key]: () => 1 }] }, 'task', 1 << 30));
    expect(error).toMatchObject({ reason: 'function', path: `task.rows[0][${JSON.stringify('k'.repeat(64))}… (100000 characters)]` });
    // The function took its name from the key: cut too.
    expect(error.message).toBe(`Cannot send ${error.path}: functions cannot be sent (function ${'k'.repeat(64)}… (100000 characters))`);
    const fields = captureError(() => encodePayload({ e: Object.assign(new Error('x'), { [key]: 1, a: 1, b: 1, c: 1, d: 1, f: 1 }) }, 'task', 1 << 30));
    expect(fields.message).toBe(`Cannot send task.e: the own properties of errors (${'k'.repeat(64)}… (100000 characters), a, b, c, d and 1 more) would be lost; send them as plain data`);
    const inMap = captureError(() => encodePayload(new Map([[key, Symbol('s')]]), 'task', 1 << 30));
    expect(inMap.path).toBe(`task.get(${JSON.stringify('k'.repeat(64))}… (100000 characters))`);
    let deep: unknown = 1;
    for (let i = 0; i < 1500; i++) deep = { next: deep };
    const tooDeep = captureError(() => encodePayload({ list: deep }, 'task', 1 << 30));
    expect(tooDeep).toMatchObject({ reason: 'depth', path: `task.list${'.next'.repeat(23)}.<969 more levels>${'.next'.repeat(8)}` });
    expect(tooDeep.message).toMatch(/: nesting deeper than 1000 levels$/);
  });

  it('refuses values over the size limit', () => {
    expect(() => encodePayload('x'.repeat(100), 'task', 50)).toThrow(/exceed maxMessageBytes \(50\)/);
    expect(() => encodePayload(new Map([[1, 'x'.repeat(100)]]), 'task', 50)).toThrow(/exceed maxMessageBytes/);
  });

  it('sends a small value whose objects are reached many times over through V8, once each, without walking every way to them', () => {
    // 41 objects, each reached twice from the one above: 2^40 ways to the leaf, which JSON would
    // write out every time. The walk gives up on JSON once its text is sure to pass the limit.
    let reads = 0;
    const leaf = {
      get n(): number {
        reads++;
        return 1;
      },
    };
    let node: object = leaf;
    for (let i = 0; i < 40; i++) node = { a: node, b: node };
    const bytes = encodePayload(node, 'task', 1 << 20);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect(reads).toBeLessThan(1 << 20); // about 2^18 before the walk gave up, and 2 more for V8
    const copy = v8.deserialize(bytes as Buffer) as { a: { a: unknown }; b: { a: unknown } };
    expect(copy.a).toBe(copy.b); // one object, as V8's serializer writes it
    // Past the limit in V8's bytes too: refused for its size, like any other.
    const wide = Array.from({ length: 2_000 }, (_, i) => ({ [`k${i}`]: node }));
    expect(() => encodePayload(wide, 'task', 1 << 14)).toThrow(expect.objectContaining({ reason: 'size' }));
  });

  it("refuses a value whose strings alone pass the limit before V8's serializer copies them", () => {
    const page = 'x'.repeat(1_000);
    const value = Array.from({ length: 5_000 }, () => page); // one string, 5,000 times: 5 MB in either encoding
    expect(() => encodePayload(value, 'task', 1 << 20)).toThrow(
      expect.objectContaining({ name: 'SerializationError', reason: 'size', message: 'Cannot send task: its strings alone exceed maxMessageBytes (1048576)' }),
    );
  });

  it('gives a SerializationError for whatever encoding throws, on the JSON path and on V8\'s', () => {
    const thrower = { get g(): number { throw new Error('getter threw'); } };
    // A BigInt first: the value takes V8's path, whose walk reads the getter.
    expect(() => encodePayload({ big: 1n, thrower }, 'task', 1 << 20)).toThrow(expect.objectContaining({ name: 'SerializationError', reason: 'unsupported', message: 'Cannot send task: getter threw' }));
    // A getter that gives a number to the walk and a BigInt to JSON.stringify.
    let first = true;
    const fickle = {
      get n(): number | bigint {
        const v = first ? 1 : 1n;
        first = false;
        return v;
      },
    };
    expect(() => encodePayload(fickle, 'task', 1 << 20)).toThrow(expect.objectContaining({ name: 'SerializationError', reason: 'unsupported', path: 'task' }));
  });

  it.each([
    [{ view: Object.assign(new DataView(new ArrayBuffer(2)), { meta: 1 }) }, 'unsupported', 'task.view', /own properties of a DataView \(meta\)/],
    [{ boxed: Object.assign(new String('hi'), { extra: 1 }) }, 'unsupported', 'task.boxed', /own properties of a String \(extra\)/],
    [{ view: new Uint8Array(new SharedArrayBuffer(4)) }, 'unsupported', 'task.view', /a view of a SharedArrayBuffer/],
    [{ made: Object.create({ kind: 'proto' }) as object }, 'class', 'task.made', /objects with a prototype of their own would arrive as plain objects/],
    [{ err: new (class QuotaError extends Error {})('x') }, 'class', 'task.err', /instances of QuotaError would arrive as errors of a built-in class/],
  ])('refuses %o (%s at %s) rather than alter it', (value, reason, path, message) => {
    expect(() => encodePayload(value, 'task', 1 << 20)).toThrow(expect.objectContaining({ reason, path, message: expect.stringMatching(message) }));
  });

  it('carries a boxed BigInt, and names the path of a refused value deep in a big array', () => {
    expect(v8.deserialize(encodePayload({ n: Object(5n) }, 'task', 1 << 20) as Buffer)).toEqual({ n: Object(5n) });
    const rows: unknown[] = Array.from({ length: 100_000 }, (_, i) => (i === 99_999 ? new Map([['k', [1, () => 1]]]) : NaN));
    expect(() => encodePayload(rows, 'task', 1 << 24)).toThrow(expect.objectContaining({ reason: 'function', path: 'task[99999].get("k")[1]' }));
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

  it('sends a property JSON would alter as the string util.inspect shows, never half-converted', () => {
    // Before: the Map arrived as {}, the NaN as null and the undefined not at all, silently.
    const error = Object.assign(new Error('x', { cause: new Set([1]) }), {
      map: new Map([[1, 2]]),
      nested: { n: NaN, u: undefined },
      visible: { nested: [1, NaN, '2'] },
      holes: [1, , 3],
      deep: { big: 7n, when: new Date(Number.NaN), fn: { f: () => 'source' } },
      point: new (class Point {
        x = 1;
      })(),
      circular: {} as Record<string, unknown>,
    });
    error.circular.self = error.circular;
    const back = deserializeError(JSON.parse(JSON.stringify(serializeError(error)))) as unknown as Record<string, unknown>;
    expect(back.map).toBe('Map(1) { 1 => 2 }');
    expect(back.nested).toBe('{ n: NaN, u: undefined }');
    expect(back.visible).toBe("{ nested: [ 1, NaN, '2' ] }");
    expect(back.holes).toBe('[ 1, <1 empty item>, 3 ]');
    expect(back.deep).toBe('{ big: 7n, when: Invalid Date, fn: { f: [Function: f] } }');
    expect(back.point).toBe('Point { x: 1 }');
    expect(back.circular).toBe('<ref *1> { self: [Circular *1] }');
    expect(back.cause).toBe('Set(1) { 1 }');
  });

  it('keeps what JSON carries as it is: plain data, Dates as their ISO string, a nested -0 as 0', () => {
    const meta = { a: [1, { b: 'c', d: null, e: true }], empty: {}, bare: Object.assign(Object.create(null), { k: 1.5 }) };
    const error = Object.assign(new Error('x'), { code: 'E_X', count: 3, meta, at: new Date(0), dates: [new Date(1)], zero: { z: -0 } });
    const data = serializeError(error);
    expect(data.props).toEqual({ code: 'E_X', count: 3, meta, at: '1970-01-01T00:00:00.000Z', dates: ['1970-01-01T00:00:00.001Z'], zero: { z: 0 } });
    // A top-level non-finite number or bigint is its String(), as before.
    expect(serializeError(Object.assign(new Error('x'), { n: NaN, i: -Infinity, b: 7n })).props).toEqual({ n: 'NaN', i: '-Infinity', b: '7' });
  });

  it('describes a property it cannot walk or inspect without throwing or running its traps', () => {
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    class Loud {
      [Symbol.for('nodejs.util.inspect.custom')](): string {
        throw new Error('no inspect');
      }
    }
    const trapped = new Proxy({ a: NaN }, {
      get() {
        throw new Error('trap');
      },
      ownKeys() {
        throw new Error('trap');
      },
    });
    const data = serializeError(Object.assign(new Error('x'), {
      getter: { get g(): number { throw new Error('boom'); } },
      revoked: revocable.proxy,
      loud: new Loud(),
      trapped,
    }));
    expect(data.props).toEqual({ getter: '{ g: [Getter] }', revoked: '<Revoked Proxy>', loud: 'Loud {}', trapped: '{ a: NaN }' });
  });

  it('holds the string form of a property to the same limits as the rest of the text', () => {
    const data = serializeError(Object.assign(new Error('x'), {
      many: new Map(Array.from({ length: 1_000 }, (_, i) => [i, 'v'.repeat(1_000)])),
      long: { s: 'w'.repeat(1_000_000), n: NaN },
      more: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, { s: 'u'.repeat(20_000), u: undefined }])),
    }));
    expect(data.props?.many).toMatch(/^Map\(1000\) \{ 0 => 'v+', .*more characters cut\]$/);
    expect((data.props?.long as string).length).toBeLessThan(16 * 1024 + 100);
    expect(Buffer.byteLength(JSON.stringify(data))).toBeLessThan(200 * 1024);
  });

  it('one property that cannot be described costs that property only, and no property takes long to describe', () => {
    const tag = { get [Symbol.toStringTag](): string { throw new Error('tag boom'); }, n: Number.NaN };
    const error = Object.assign(new TypeError('real message'), { code: 'E_REAL', detail: tag });
    const data = serializeError(error);
    // Before: the whole error became 'the error could not be read (Error: tag boom)'
    expect(data).toMatchObject({ name: 'TypeError', message: 'real message', props: { code: 'E_REAL' } });
    expect(data.stack).toContain('real message');
    expect(typeof data.props?.detail).toBe('string');
    // A wide object sharing its children (a DAG), which util.inspect expanded path by path (seconds),
    // and one whose paths double at every level, which the JSON walk followed for ever.
    const child: Record<string, number> = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`c${i}`, i]));
    let wide: object = child;
    for (let level = 0; level < 4; level++) wide = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, wide]));
    let dag: object = { leaf: 1 };
    for (let level = 0; level < 30; level++) dag = { a: dag, b: dag };
    const big = serializeError(Object.assign(new Error('big'), { wide: { toJSON: () => 'small', inner: wide }, dag }));
    expect(big.props?.wide).toMatch(/too large to show/);
    expect(typeof big.props?.dag).toBe('string');
    expect(JSON.stringify(big).length).toBeLessThan(200_000);
  });

  it('never throws, whatever was thrown: a getter that throws, a Proxy that cannot list its keys', () => {
    const getter = Object.defineProperty(new Error('bad'), 'detail', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    expect(serializeError(getter)).toMatchObject({ name: 'Error', message: 'bad', props: { detail: '[detail could not be read: Error: boom]' } });
    const lister = new Proxy(new Error('p'), {
      ownKeys() {
        throw new Error('no keys');
      },
    });
    expect(serializeError(lister)).toMatchObject({ name: 'Error', message: 'p' });
    const opaque = new Proxy(new Error('q'), {
      getPrototypeOf() {
        throw new Error('no prototype');
      },
    });
    expect(serializeError(opaque)).toEqual({ name: 'Error', message: 'the error could not be read (Error: no prototype)' });
  });

  it('an unreadable cause or aggregated error (a Proxy whose traps throw) costs that error only, not the one that holds it', () => {
    const trap = (what: string) => () => {
      throw new Error(`${what} trap`);
    };
    const opaque = (): object => new Proxy({}, { get: trap('get'), getPrototypeOf: trap('getPrototypeOf'), ownKeys: trap('ownKeys') });
    const unreadable = { name: 'Error', message: 'the error could not be read (Error: getPrototypeOf trap)' };
    // Before: each became { name: 'Error', message: 'the error could not be read (Error: getPrototypeOf trap)' } as a whole.
    const caused = serializeError(Object.assign(new TypeError('query failed', { cause: opaque() }), { code: 'E_QUERY' }));
    expect(caused).toMatchObject({ name: 'TypeError', message: 'query failed', props: { code: 'E_QUERY' }, cause: unreadable });
    expect(caused.stack).toMatch(/^TypeError: query failed\n {4}at /);
    const aggregated = serializeError(new AggregateError([new Error('first'), opaque(), new RangeError('third')], 'all failed'));
    expect(aggregated).toMatchObject({ name: 'AggregateError', message: 'all failed', errors: [{ name: 'Error', message: 'first' }, unreadable, { name: 'RangeError', message: 'third' }] });
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    expect(serializeError({ message: 'not found', status: 404, cause: revocable.proxy })).toMatchObject({
      name: 'NonError',
      message: 'not found',
      props: { status: 404 },
      cause: { name: 'Error', message: expect.stringMatching(/^the error could not be read \(TypeError: .*revoked/) },
    });
  });

  it('cuts what is too long to send, so that any error fits the frame the parent reads', () => {
    const huge = new Error('m'.repeat(5_000_000), { cause: Object.assign(new Error('inner'), { blob: 'b'.repeat(1_000_000) }) });
    Object.assign(huge, Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, 'v'.repeat(100)])));
    const data = serializeError(huge);
    expect(data.message).toMatch(/^m+\.\.\. \[\d+ more characters cut\]$/);
    expect(data.stack?.startsWith('Error: mmm')).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(data))).toBeLessThan(1024 * 1024);
    // Many small properties, and long names: each costs its name and more, within the same budget.
    const manyProps = Object.assign(new Error('many'), Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`prop_${i}`, i])));
    expect(Buffer.byteLength(JSON.stringify(serializeError(manyProps)))).toBeLessThan(1024 * 1024);
    expect(Buffer.byteLength(JSON.stringify(serializeError(Object.assign(new Error('k'), { ['k'.repeat(3_000_000)]: 1 }))))).toBeLessThan(1024 * 1024);
    // A cut never leaves half of a character written as two UTF-16 units.
    const cut = serializeError(new Error(`${'a'.repeat(16_383)}\u{1F600}${'b'.repeat(100)}`)).message; // the emoji's halves at 16,383 and 16,384
    expect(cut).toBe(`${'a'.repeat(16_383)}... [102 more characters cut]`);
    // Characters JSON escapes as \\u0000 grow sixfold: still under the limit.
    expect(Buffer.byteLength(JSON.stringify(serializeError(new Error('\u0000'.repeat(2_000_000)))))).toBeLessThan(1024 * 1024);
  });

  it("keeps an AggregateError's errors, a thrown object's message and properties, and names functions without their source", () => {
    const aggregate = deserializeError(JSON.parse(JSON.stringify(serializeError(new AggregateError([new Error('e1'), new TypeError('e2')], 'many'))))) as AggregateError;
    expect(aggregate.errors.map((e: Error) => [e.name, e.message])).toEqual([['Error', 'e1'], ['TypeError', 'e2']]);
    expect(aggregate).toBeInstanceOf(AggregateError);
    expect(aggregate.errors[1]).toBeInstanceOf(TypeError);
    expect(serializeError({ message: 'over quota', code: 'E_QUOTA' })).toEqual({ name: 'NonError', message: 'over quota', props: { code: 'E_QUOTA' } });
    const data = serializeError(Object.assign(new Error('x'), { secret() { return 'source'; } }));
    expect(data.props?.secret).toBe('[Function: secret]');
  });

  it("keeps another realm's errors as errors: an AggregateError's errors, a cause", () => {
    const foreign = vm.runInNewContext('new AggregateError([new Error("e1")], "many", { cause: new TypeError("why") })') as AggregateError;
    const data = serializeError(new Error('outer', { cause: foreign }));
    expect(data.cause).toMatchObject({ name: 'AggregateError', message: 'many', errors: [{ name: 'Error', message: 'e1' }], cause: { name: 'TypeError', message: 'why' } });
  });

  it('describes a message that is not a string (one assigned after the error was made) rather than dropping it', () => {
    const error = Object.assign(new Error('x'), { message: 404 as unknown as string });
    expect(serializeError(error).message).toBe('404');
  });

  it('describes a Buffer, a typed array, an ArrayBuffer or a long array as util.inspect shows them, without walking their items', { timeout: 10_000 }, () => {
    // Before: their indices were listed one by one: a 50 MB Buffer took about a minute and gigabytes.
    const data = serializeError(Object.assign(new Error('upload failed'), {
      body: Buffer.alloc(50e6),
      samples: new Float64Array(1e7),
      raw: new ArrayBuffer(1e7),
      rows: new Array<number>(1e7).fill(7),
      set: new Set(Array.from({ length: 1e6 }, (_, i) => i)),
    }));
    expect(data.props?.body).toMatch(/^<Buffer 00 00 .* 49999950 more bytes>$/);
    expect(data.props?.samples).toMatch(/^Float64Array\(10000000\) \[ 0, 0, .* 9999900 more items \]$/);
    expect(data.props?.raw).toMatch(/^ArrayBuffer \{ \[Uint8Contents\]: <00 00 .* 9999900 more bytes>, \[?byteLength\]?: 10000000 \}$/); // Node 24 shows [byteLength]
    expect(data.props?.rows).toMatch(/^\[ 7, 7, .* 9999900 more items \]$/);
    expect(data.props?.set).toMatch(/^Set\(1000000\) \{ 0, 1, .* 999900 more items \}$/);
  });

  it('keeps the frames and the whole cause chain of an error whose message or properties are long, cutting them first', () => {
    // Before: the stack took the whole budget: a stack of 114,682 characters of message and no
    // frames, and a cause { name: '... [5 more characters cut]', message: '... [26 more characters cut]' }.
    const refused = (): Error => Object.assign(new Error('ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const query = new Error(`query failed: ${'SELECT '.repeat(20000)}`, { cause: refused() });
    const back = deserializeError(JSON.parse(JSON.stringify(serializeError(query))));
    expect(back.message).toMatch(/^query failed: SELECT .*\.\.\. \[\d+ more characters cut\]$/);
    expect(back.message.length).toBeLessThan(16 * 1024 + 100);
    expect(back.stack).toBe(`Error: ${back.message}\n${query.stack?.split('\n').slice(1).join('\n')}`); // every frame, after the cut message
    expect(back.cause).toMatchObject({ name: 'Error', message: 'ECONNREFUSED', code: 'ECONNREFUSED', stack: (query.cause as Error).stack });
    expect(new TaskError(1, back, { worker: 0, pid: 1 }).stack).toMatch(/^TaskError: Error: query failed: SELECT .*cut\]\n {4}at /);
    // Long properties, even before a short one: cut first, the code and the cause whole.
    const strings = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`sql${i}`, 'x'.repeat(15_000)]));
    const wide = serializeError(Object.assign(new Error('batch failed', { cause: refused() }), strings, { code: 'E_BATCH' }));
    expect(wide).toMatchObject({ message: 'batch failed', props: { code: 'E_BATCH' }, cause: { name: 'Error', message: 'ECONNREFUSED', props: { code: 'ECONNREFUSED' } } });
    expect(wide.stack).toMatch(/^Error: batch failed\n {4}at /);
    expect((wide.cause as SerializedError).stack).toMatch(/^Error: ECONNREFUSED\n {4}at /);
    expect(Object.values(wide.props ?? {}).filter((v) => /more characters cut\]$/.test(String(v))).length).toBeGreaterThan(0);
    // Five causes deep, each message long: each keeps its name, the start of its message and its frames.
    let chain = new Error(`root ${'r'.repeat(50_000)}`);
    for (let level = 4; level >= 0; level--) chain = new TypeError(`level ${level} ${'m'.repeat(50_000)}`, { cause: chain });
    let cause: SerializedError | undefined = serializeError(chain);
    for (const start of ['level 0', 'level 1', 'level 2', 'level 3', 'level 4', 'root']) {
      expect(cause?.message.startsWith(start)).toBe(true);
      expect(cause?.stack).toMatch(/cut\]\n {4}at /);
      cause = cause?.cause as SerializedError | undefined;
    }
    // A name is not cut for want of budget: only one longer than 200 characters is.
    expect(serializeError(Object.assign(new Error('m'.repeat(1e6)), { name: 'N'.repeat(300) })).name).toMatch(/^N{200}\.\.\. \[100 more characters cut\]$/);
  });

  it('keeps a name or a message that is not a string, as a property of its own and readably in the text', () => {
    // Before: { message: 404, code: 'X' } arrived as { message: '[object Object]', code: 'X' }, and
    // an object's message or its name was dropped from both the message and the properties.
    expect(serializeError({ message: 404, code: 'X' })).toEqual({ name: 'NonError', message: '404', props: { thrownMessage: 404, code: 'X' } });
    expect(serializeError({ message: { detail: 'quota exceeded' } })).toEqual({
      name: 'NonError',
      message: "{ detail: 'quota exceeded' }",
      props: { thrownMessage: { detail: 'quota exceeded' } },
    });
    expect(serializeError({ name: 'Custom' })).toEqual({ name: 'NonError', message: "{ name: 'Custom' }", props: { thrownName: 'Custom' } });
    expect(serializeError({ name: 'HttpError', message: 'not found' })).toEqual({ name: 'NonError', message: 'not found', props: { thrownName: 'HttpError' } });
    // An Error's name or message assigned after the fact: err.name = 42 was 'Error'.
    const named = serializeError(Object.assign(new Error('x'), { name: 42 }));
    expect(named).toMatchObject({ name: '42', message: 'x', props: { thrownName: 42 } });
    const back = deserializeError(JSON.parse(JSON.stringify(serializeError(Object.assign(new Error('x'), { message: { status: 404 } }))))) as Error & { thrownMessage: unknown };
    expect(back.message).toBe('{ status: 404 }');
    expect(back.thrownMessage).toEqual({ status: 404 });
  });

  it('rebuilds an own property that would hide a method of the error (toString, valueOf...) under another key', () => {
    // Before: the rebuilt error's own toString was a string, and String(error) threw "Cannot convert object to primitive value".
    const error = Object.assign(new Error('x'), { code: 'E_X' });
    Object.defineProperty(error, 'toString', { value: 'shown', enumerable: true });
    Object.defineProperty(error, 'hasOwnProperty', { value: 1, enumerable: true });
    const back = deserializeError(JSON.parse(JSON.stringify(serializeError(error)))) as Error & Record<string, unknown>;
    expect(String(back)).toBe('Error: x');
    expect(Object.prototype.hasOwnProperty.call(back, 'code')).toBe(true);
    expect(back.hasOwnProperty('code')).toBe(true);
    expect(back).toMatchObject({ code: 'E_X', 'own:toString': 'shown', 'own:hasOwnProperty': 1 });
  });

  it('marks a DOMException (only a real one) and rebuilds it as one; the parse boundary takes the mark only as true', () => {
    const data = JSON.parse(JSON.stringify(serializeError(new DOMException('gone', 'AbortError'))));
    expect(data).toMatchObject({ name: 'AbortError', message: 'gone', dom: true });
    const back = deserializeError(data);
    expect(back).toBeInstanceOf(DOMException);
    expect(back).toMatchObject({ name: 'AbortError', code: DOMException.ABORT_ERR, stack: data.stack });
    expect(serializeError(Object.assign(new Error('mine'), { name: 'AbortError' })).dom).toBeUndefined();
    expect(parseToParent({ kind: 'taskFailed', id: 1, error: data })).toMatchObject({ error: { dom: true } });
    expect(() => parseToParent({ kind: 'taskFailed', id: 1, error: { ...data, dom: 'yes' } })).toThrow(MessageShapeError);
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
    expect(parseToChild({ kind: 'reclaim', idle: 2, keep: [] })).toEqual({ kind: 'reclaim', idle: 2, keep: [] });
    expect(parseToChild({ kind: 'reclaim', idle: 1, keep: [3, 9] })).toEqual({ kind: 'reclaim', idle: 1, keep: [3, 9] });
    for (const keep of [undefined, [1, -1], ['1']]) expect(() => parseToChild({ kind: 'reclaim', idle: 1, keep })).toThrow(MessageShapeError);
    expect(parseToParent({ kind: 'reclaimed', ids: [4, 7] })).toEqual({ kind: 'reclaimed', ids: [4, 7] });
    expect(parseToParent({ kind: 'reclaimed', ids: [] })).toEqual({ kind: 'reclaimed', ids: [] });
    for (const ids of [undefined, 3, [1, -1], ['1'], [1.5]]) expect(() => parseToParent({ kind: 'reclaimed', ids })).toThrow(MessageShapeError);
    expect(() => parseToChild({ kind: 'reclaim', idle: -1, keep: [] })).toThrow(MessageShapeError);
    const bads = [null, [], [0, 1, 1], [1, -1], [1, '1'], [1, 1, 2, 3], 'x', { kind: 'nope' }, { kind: 'taskDone', id: 1 }, { kind: 'taskFailed', id: 1, error: {} }];
    for (const bad of bads) expect(() => parseToParent(bad)).toThrow(MessageShapeError);
    expect(() => parseToChild([1, 1])).toThrow(MessageShapeError);
    expect(() => parseToChild([0, 1, 1.5])).toThrow(MessageShapeError);
  });

  it("carries a pool's instance number in init, when it has one (its workers' titles: looppool <name>@2 worker <n>)", () => {
    const init = { kind: 'init', protocol: 'p', worker: 0, name: 'n', module: 'file:///w.mjs', maxMessageBytes: 1, restartOnError: true };
    expect(parseToChild(init)).not.toHaveProperty('instance');
    expect(parseToChild({ ...init, instance: 2 })).toMatchObject({ instance: 2 });
    for (const instance of [-1, 1.5, '2', null]) expect(() => parseToChild({ ...init, instance })).toThrow(MessageShapeError);
  });
});

/** The SerializationError `fn` throws. */
function captureError(fn: () => unknown): SerializationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SerializationError);
    return error as SerializationError;
  }
  return expect.unreachable('it did not throw');
}
