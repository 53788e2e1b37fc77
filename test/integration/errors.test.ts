import { describe, expect, it } from 'vitest';
import { SerializationError, TaskError, WorkerCrashedError } from 'looppool';
import { makePool } from '../helpers/pools.ts';
import { waitFor } from '../helpers/processes.ts';

describe('task errors', () => {
  it.each(['sync', 'async'])('a %s throw rejects run() with TaskError carrying the whole remote error', async (mode) => {
    const pool = makePool({ worker: 'throws.ts', size: 1 });
    const error = (await pool.run(mode).catch((e: unknown) => e)) as TaskError;
    expect(error).toBeInstanceOf(TaskError);
    expect(error.name).toBe('TaskError');
    expect(error.code).toBe('ERR_TASK_FAILED');
    expect(error.message).toBe(`quota exceeded (${mode})`);
    expect(error.worker).toBe(0);
    const remote = error.cause as typeof error.cause & { code: string; limit: number };
    expect(remote.name).toBe('QuotaError');
    expect(remote.message).toBe(`quota exceeded (${mode})`);
    expect(remote.code).toBe('E_QUOTA');
    expect(remote.limit).toBe(10);
    expect(remote.stack).toMatch(/QuotaError: quota exceeded[\s\S]*throws\.ts/);
    expect(error.stack).toContain('throws.ts');
    const cause = remote.cause as Error;
    expect(cause.name).toBe('RangeError');
    expect(cause.message).toBe('limit 10');
  });

  it('a built-in error class is rebuilt as that class (instanceof holds); any other error is an Error with its name', async () => {
    // Before: every remote error was a plain Error named after it: cause instanceof RangeError was false.
    const pool = makePool({ worker: 'throws.ts', size: 1 });
    const error = (await pool.run('sync').catch((e: unknown) => e)) as TaskError;
    const remote = error.cause as Error;
    expect(Object.getPrototypeOf(remote)).toBe(Error.prototype);
    expect(remote.name).toBe('QuotaError');
    expect(remote.cause).toBeInstanceOf(RangeError);
    expect(remote.cause).toMatchObject({ name: 'RangeError', message: 'limit 10' });
  });

  it('a DOMException (AbortSignal.timeout()\'s, one thrown with a cause) is rebuilt as one, its code with it; an Error named as one stays an Error', async () => {
    // Before: it arrived as a plain Error named TimeoutError: instanceof DOMException false, no code.
    const pool = makePool({ worker: 'throws-odd.ts', size: 1 });
    const causeOf = async (task: string): Promise<Error & { code?: unknown }> => ((await pool.run(task).catch((e: unknown) => e)) as TaskError).cause as Error;
    const timeout = await causeOf('timeout');
    expect(timeout).toBeInstanceOf(DOMException);
    expect(timeout).toMatchObject({ name: 'TimeoutError', code: DOMException.TIMEOUT_ERR, message: 'The operation was aborted due to timeout' });
    expect(timeout.stack).toMatch(/^TimeoutError: The operation was aborted due to timeout\n/);
    const dom = await causeOf('dom');
    expect(dom).toBeInstanceOf(DOMException);
    expect(dom).toMatchObject({ name: 'InvalidStateError', code: DOMException.INVALID_STATE_ERR, message: 'the reader is closed' });
    expect(dom.cause).toMatchObject({ name: 'Error', message: 'closed by the peer' });
    expect(dom.stack).toContain('throws-odd.ts');
    const named = await causeOf('dom-named');
    expect(named).not.toBeInstanceOf(DOMException);
    expect(Object.getPrototypeOf(named)).toBe(Error.prototype);
    expect(named).toMatchObject({ name: 'TimeoutError', message: 'an error of its own' });
    expect(named.code).toBeUndefined();
  });

  it('a task returning a thenable is settled as await settles it: a then() that throws fails that task only, the worker and its other tasks go on', async () => {
    // Before: the runtime called then() itself, and its throw went up through the channel's reader:
    // the worker exited (code 70) with every task on it, or, with restartOnError false and the
    // task waiting in the worker's run queue, held every answer until the pool stopped.
    const pool = makePool({ worker: 'thenables.ts', size: 1, restartOnError: false });
    const exits: unknown[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const bystander = pool.run(300);
    // Sent together: those after 'spin' wait in the worker's run queue while it blocks the loop.
    const queued = await Promise.allSettled(['spin', 'then-throws', 'then-getter', 'nested'].map((task) => pool.run(task)));
    const alone = await pool.run('then-throws').catch((e: unknown) => e);
    expect(queued.map((r) => (r.status === 'fulfilled' ? r.value : ((r.reason as TaskError).cause as Error).message))).toEqual([
      'spun',
      'then() threw',
      'then getter threw',
      7,
    ]);
    expect(alone).toBeInstanceOf(TaskError);
    expect(((alone as TaskError).cause as Error).message).toBe('then() threw');
    expect(await bystander).toBe(300);
    expect(exits).toEqual([]);
    expect(pool.stats()).toMatchObject({ done: 3, failed: 3, restarts: 0 });
  });

  it('a failing put task is reported as a taskError event and the pool goes on', async () => {
    const pool = makePool({ worker: 'throws.ts', size: 1 });
    const errors: [Error, { taskId: number; worker: number }][] = [];
    pool.on('taskError', (error, info) => errors.push([error, info]));
    const id = await pool.put('async');
    await waitFor(() => pool.stats().failed === 1, 'the task to fail');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.[0]).toBeInstanceOf(TaskError);
    expect(errors[0]?.[1]).toMatchObject({ taskId: id, worker: 0 });
    expect(pool.stats().failed).toBe(1);
  });

  it('a failing put task with no taskError listener is written to stderr, not dropped', async () => {
    const pool = makePool({ worker: 'throws.ts', size: 1 });
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      await pool.put('async');
      await waitFor(() => pool.stats().failed === 1, 'the task to fail');
    } finally {
      process.stderr.write = write;
    }
    expect(written.join('')).toMatch(/taskError.*QuotaError: quota exceeded \(async\)/s);
    // Its cause chain and properties too (before: the stack only, without the worker's code or cause).
    expect(written.join('')).toMatch(/code: 'E_QUOTA'.*\[cause\]: RangeError: limit 10/s);
  });

  it.each([
    ['huge', { restartOnError: true }],
    ['getter', { restartOnError: true }],
    ['getter', { restartOnError: false }],
  ])('an error hard to send (%s, %o) fails only its task, with a TaskError; the tasks beside it go on', async (kind, options) => {
    // Before: the 40 MiB message broke the frame limit and the worker was killed with every task
    // it held; the getter's throw escaped the runtime (a crash, or a task never answered).
    const pool = makePool({ worker: 'throws-odd.ts', size: 1, concurrency: 4, ...options });
    const crashes: unknown[] = [];
    pool.on('workerExit', (info) => crashes.push(info));
    const bystanders = [300, 400, 500].map((ms) => pool.run(ms));
    const error = (await pool.run(kind).catch((e: unknown) => e)) as TaskError;
    expect(error).toBeInstanceOf(TaskError);
    const remote = error.cause as Error & { detail?: string };
    if (kind === 'huge') {
      expect(remote.message).toMatch(/^m{1000}.*more characters cut\]$/s);
      expect(remote.message.length).toBeLessThan(64 * 1024);
    } else {
      expect(remote.message).toBe('bad');
      expect(remote.detail).toMatch(/detail could not be read: Error: boom in getter/);
    }
    expect(await Promise.all(bystanders)).toEqual([300, 400, 500]);
    expect(crashes).toEqual([]);
  });

  it('an error holding a 50 MB Buffer fails its task with the Buffer shown as util.inspect shows it; the tasks beside it go on', { timeout: 20_000 }, async () => {
    // Before: describing the Buffer listed its 50M indices, blocking the worker's loop for about a
    // minute and taking gigabytes (an 8 MB one: 4 s): the test ran out of time.
    const pool = makePool({ worker: 'throws-odd.ts', size: 1, concurrency: 4 });
    const bystanders = [300, 400].map((ms) => pool.run(ms));
    const error = (await pool.run('buffer').catch((e: unknown) => e)) as TaskError;
    expect(error).toBeInstanceOf(TaskError);
    expect(error.cause).toMatchObject({ message: 'upload failed', code: 'E_UPLOAD', body: expect.stringMatching(/^<Buffer 00 00 .* 49999950 more bytes>$/) });
    expect(await Promise.all(bystanders)).toEqual([300, 400]);
  });

  it.each(['long-query', 'wide'])('a long message or long properties (%s) never cost the stack frames or the cause chain', async (task) => {
    // Before: the message took the whole budget into the stack: the stacks had no frames, and the
    // cause arrived as { name: '... [5 more characters cut]', message: '... [26 more characters cut]' }, without its code.
    const pool = makePool({ worker: 'throws-odd.ts', size: 1 });
    const error = (await pool.run(task).catch((e: unknown) => e)) as TaskError;
    const remote = error.cause as Error & Record<string, unknown>;
    expect(remote.stack).toMatch(/\n {4}at .*throws-odd\.ts/);
    expect(error.stack).toMatch(/\n {4}at .*throws-odd\.ts/);
    const root = remote.cause as Error & { code?: string };
    expect(root).toMatchObject({ name: 'Error', message: 'ECONNREFUSED', code: 'ECONNREFUSED' });
    expect(root.stack).toMatch(/^Error: ECONNREFUSED\n {4}at .*throws-odd\.ts/);
    if (task === 'long-query') {
      expect(remote.message).toMatch(/^query failed: SELECT SELECT .*more characters cut\]$/);
      expect(remote.stack?.startsWith(`Error: ${remote.message}\n    at `)).toBe(true); // the message's cut, once
    } else {
      expect(remote).toMatchObject({ message: 'batch failed', code: 'E_BATCH' });
      expect(Object.keys(remote).filter((key) => key.startsWith('sql'))).toHaveLength(10); // each long one cut as the rest of the budget allows
    }
  });

  it('a property JSON would alter arrives as the string util.inspect shows; plain data as it is', async () => {
    // Before: map arrived as {}, nested as { n: null }, visible as { nested: [1, null, '2'] }.
    const pool = makePool({ worker: 'throws-odd.ts', size: 1 });
    const error = (await pool.run('props').catch((e: unknown) => e)) as TaskError;
    expect({ ...(error.cause as object) }).toEqual({
      code: 'E_ODD',
      map: 'Map(1) { 1 => 2 }',
      nested: '{ n: NaN, u: undefined }',
      visible: "{ nested: [ 1, NaN, '2' ] }",
      plain: { a: [1, 'b'] },
    });
  });

  it("an error's own errors field crosses like its other properties (only an AggregateError's are its aggregated errors)", async () => {
    // Before: a validation error's `errors` (Mongoose's, Sequelize's...) was dropped, silently.
    const pool = makePool({ worker: 'throws-odd.ts', size: 1 });
    const error = (await pool.run('errors').catch((e: unknown) => e)) as TaskError;
    expect(error.cause).toMatchObject({ name: 'ValidationError', errors: { email: { kind: 'regexp', message: 'bad email' } } });
  });

  it("an error made in another realm (a vm context) crosses as an error, with its name, stack, properties and cause", async () => {
    // Before: not an instanceof Error of the worker's realm, it arrived as a NonError without its
    // name or stack, and as a cause it arrived as a string.
    const pool = makePool({ worker: 'throws-odd.ts', size: 1 });
    const error = (await pool.run('realm').catch((e: unknown) => e)) as TaskError;
    const remote = error.cause as typeof error.cause & { code: string };
    expect(remote).toMatchObject({ name: 'TypeError', message: 'from a sandbox', code: 'E_REALM' });
    expect(remote.stack).toMatch(/^TypeError: from a sandbox\n[\s\S]*throws-odd\.ts/);
    expect(error.stack).toContain('throws-odd.ts');
    expect(remote.cause).toMatchObject({ name: 'RangeError', message: 'inner' });
  });

  it('an error whose cause cannot be read (a Proxy whose traps throw) keeps its own name, message and code; the cause says why', async () => {
    // Before: the whole error arrived as 'the error could not be read (Error: no prototype)', its message and code lost.
    const pool = makePool({ worker: 'throws-odd.ts', size: 1 });
    const error = (await pool.run('opaque-cause').catch((e: unknown) => e)) as TaskError;
    expect(error).toBeInstanceOf(TaskError);
    expect(error.cause).toMatchObject({ name: 'Error', message: 'query failed', code: 'E_QUERY' });
    expect(error.cause.cause).toMatchObject({ name: 'Error', message: 'the error could not be read (Error: no prototype)' });
    expect(await pool.run(10)).toBe(10);
  });

  it("a TaskError's stack shows the worker's message once, however many lines it has, then the worker's frames", async () => {
    // Before: the lines of the message after the first came twice, the second time taken for frames.
    const pool = makePool({ worker: 'throws-odd.ts', size: 1 });
    const error = (await pool.run('lines').catch((e: unknown) => e)) as TaskError;
    expect(error.stack).toMatch(/^TaskError: Error: first line\nsecond line\n {4}at .*throws-odd\.ts/);
  });

  it('a thrown plain object keeps its message and own properties', async () => {
    const pool = makePool({ worker: 'throws-odd.ts', size: 1 });
    const error = (await pool.run('object').catch((e: unknown) => e)) as TaskError;
    expect(error.cause).toMatchObject({ name: 'NonError', message: 'over quota', code: 'E_QUOTA', retryAfter: 30 });
  });

  it("a thrown plain object keeps its stack and its cause, as own properties they are", async () => {
    // Before: both were dropped, silently: the object's own stack and the error that caused it.
    const pool = makePool({ worker: 'throws-odd.ts', size: 1 });
    const error = (await pool.run('object-chain').catch((e: unknown) => e)) as TaskError;
    const remote = error.cause as Error;
    expect(remote).toMatchObject({ name: 'NonError', message: 'not found', status: 404, stack: 'HttpError: not found\n    at handler (routes.js:7:3)' });
    expect(remote.cause).toMatchObject({ name: 'Error', message: 'no such row' });
    expect(error.stack).toBe('TaskError: NonError: not found\n    at handler (routes.js:7:3)');
  });

  it('refuses a task that cannot be sent with SerializationError naming the path; nothing else breaks', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    const error = (await pool.run({ items: [1, { onDone: () => 1 }] }).catch((e: unknown) => e)) as SerializationError;
    expect(error).toBeInstanceOf(SerializationError);
    expect(error.reason).toBe('function');
    expect(error.path).toBe('task.items[1].onDone');
    expect(() => pool.putNowait({ s: Symbol('x') })).toThrow(/task\.s: symbols cannot be sent/);
    expect(await pool.run('still fine')).toBe('still fine');
  });

  it.each([
    ['function', 'function', 'result.nested.fn'],
    ['class', 'class', 'result[0]'],
  ])('rejects a result that cannot be sent (%s) with SerializationError; the worker keeps working', async (kind, reason, path) => {
    const pool = makePool({ worker: 'bad-result.ts', size: 1 });
    await pool.start();
    const pid = pool.stats().workers[0]?.pid;
    const error = (await pool.run(kind).catch((e: unknown) => e)) as SerializationError;
    expect(error).toBeInstanceOf(SerializationError);
    expect(error.reason).toBe(reason);
    expect(error.path).toBe(path);
    expect(await pool.run('fine')).toBe('fine');
    expect(pool.stats().workers[0]?.pid).toBe(pid);
  });

  it('a result refused under a very long key comes back with its path cut short and the reason whole', async () => {
    // Before: the path of 100,000 characters was cut on the way back ('... [83587 more characters cut]'),
    // and so was the message, in the middle of the path: the reason was lost and 'Cannot send' came twice.
    const pool = makePool({ worker: 'bad-result.ts', size: 1 });
    const error = (await pool.run('long-key').catch((e: unknown) => e)) as SerializationError;
    expect(error).toBeInstanceOf(SerializationError);
    const key = `${JSON.stringify('k'.repeat(64))}… (100000 characters)`;
    expect(error).toMatchObject({ reason: 'function', path: `result.rows[0][${key}]` });
    expect(error.message).toBe(`Cannot send result.rows[0][${key}]: functions cannot be sent (function ${'k'.repeat(64)}… (100000 characters))`);
    expect(await pool.run('fine')).toBe('fine');
  });

  it("a result whose getter throws is refused with a SerializationError whose cause is the getter's error", async () => {
    // Before: the SerializationError said "total not ready" but its cause, the getter's RangeError, was dropped.
    const pool = makePool({ worker: 'bad-result.ts', size: 1 });
    const error = (await pool.run('getter').catch((e: unknown) => e)) as SerializationError;
    expect(error).toBeInstanceOf(SerializationError);
    expect(error.path).toBe('result');
    expect(error.cause).toMatchObject({ name: 'RangeError', message: 'total not ready' });
    expect(await pool.run('fine')).toBe('fine');
  });

  it('carries what structured clone carries, unaltered', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    const value = {
      map: new Map<unknown, unknown>([[1, { a: 1 }], ['k', new Set([1, 2])]]),
      date: new Date(0),
      big: 2n ** 70n,
      bytes: new Uint8Array([1, 2, 3]),
      buffer: Buffer.from('hi'),
      error: new RangeError('r'),
      missing: undefined,
      nan: NaN,
      negativeZero: -0,
      circular,
    };
    const back = (await pool.run(value)) as typeof value;
    expect(back.map).toEqual(value.map);
    expect(back.date).toEqual(value.date);
    expect(back.big).toBe(value.big);
    expect(back.bytes).toEqual(value.bytes);
    expect(Buffer.isBuffer(back.buffer)).toBe(true);
    expect(back.error).toBeInstanceOf(RangeError);
    expect('missing' in back).toBe(true);
    expect(back.nan).toBeNaN();
    expect(Object.is(back.negativeZero, -0)).toBe(true);
    expect((back.circular as Record<string, unknown>).self).toBe(back.circular);
  });

  it('never lets __proto__ or constructor keys in a payload pollute prototypes', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    const hostile = JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}, "a": 1}');
    const back = (await pool.run(hostile)) as Record<string, unknown>;
    expect(Object.keys(back).sort()).toEqual(['__proto__', 'a', 'constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });
});

describe('crashes', () => {
  it('a worker that exits mid-task rejects the task with WorkerCrashedError and is replaced', async () => {
    const pool = makePool({ worker: 'crash.ts', size: 1 });
    await pool.start();
    const firstPid = await pool.run('pid');
    const exits: unknown[] = [];
    pool.on('workerExit', (info) => exits.push(info));
    const error = (await pool.run('exit').catch((e: unknown) => e)) as WorkerCrashedError;
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect(error.exitCode).toBe(3);
    expect(error.signal).toBeNull();
    expect(error.pid).toBe(firstPid);
    const secondPid = await pool.run('pid');
    expect(secondPid).not.toBe(firstPid);
    expect(exits).toEqual([{ worker: 0, pid: firstPid, exitCode: 3, signal: null, expected: false, reason: 'crash' }]);
    expect(pool.stats().restarts).toBe(1);
  });
});
