import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Pool, SerializationError } from 'looppool';
import { changingGetter, expectUnreadable, failureOf, throwingGetter } from '../helpers/getters.ts';
import { fixture, makePool } from '../helpers/pools.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('limits and bad input', () => {
  it('refuses a task over maxMessageBytes with SerializationError (size); the pool keeps working', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1, maxMessageBytes: 4096 });
    const error = (await pool.run('x'.repeat(10_000)).catch((e: unknown) => e)) as SerializationError;
    expect(error).toBeInstanceOf(SerializationError);
    expect(error.reason).toBe('size');
    expect(error.message).toMatch(/exceed maxMessageBytes \(4096\)/);
    expect(await pool.run('small')).toBe('small');
  });

  it('refuses a result over maxMessageBytes with SerializationError; the worker keeps working', async () => {
    const pool = makePool({ worker: 'sized-result.ts', size: 1, maxMessageBytes: 4096 });
    await pool.start();
    const pid = pool.stats().workers[0]?.pid;
    const error = (await pool.run(10_000).catch((e: unknown) => e)) as SerializationError;
    expect(error).toBeInstanceOf(SerializationError);
    expect(error.reason).toBe('size');
    expect(error.path).toBe('result');
    expect(await pool.run(10)).toBe('x'.repeat(10));
    expect(pool.stats().workers[0]?.pid).toBe(pid);
  });

  it('carries long strings exactly both ways (through V8 serialization), between small JSON tasks', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    const text = `${'ü'.repeat(30_000)}\n"\\\u0000${'x'.repeat(30_000)}\ud83d\ude00`;
    const page = { url: 'https://example.test/', html: text, sizes: [1, 2.5, null] };
    const results = await Promise.all([pool.run(1), pool.run(text), pool.run('small'), pool.run(page), pool.run(2)]);
    expect(results).toEqual([1, text, 'small', page, 2]);
    // The size limit still holds on that path, for tasks and for results.
    const limited = makePool({ worker: 'sized-result.ts', size: 1, maxMessageBytes: 4096 });
    const error = (await limited.run(20_000).catch((e: unknown) => e)) as SerializationError;
    expect(error).toBeInstanceOf(SerializationError);
    expect([error.reason, error.path]).toEqual(['size', 'result']);
    expect(await limited.run(10)).toBe('x'.repeat(10));
  });

  it('carries a big payload byte-exact under a raised limit', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    const big = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 255;
    const back = (await pool.run(big)) as Buffer;
    expect(Buffer.compare(back, big)).toBe(0);
  });

  it.each([
    [{ size: 0 }, /Expected `size` to be an integer from 1 to 1024, got `0` \(number\)/],
    // Each worker is a process: a typo (100000) forked until the machine stopped answering
    [{ size: 1025 }, /Expected `size` to be an integer from 1 to 1024, got `1025` \(number\)/],
    [{ concurrency: 1.5 }, /Expected `concurrency` to be an integer >= 1, got `1.5` \(number\)/],
    // A worker reads frames of at most 1 GiB: a bigger limit crashed it at the first message over 1 GiB
    [{ maxMessageBytes: 2 ** 31 }, /Expected `maxMessageBytes` to be an integer from 1024 to 1073741824, got `2147483648` \(number\)/],
    [{ maxMessageBytes: 512 }, /Expected `maxMessageBytes` to be an integer from 1024 to 1073741824/],
    // Checked before workerData is measured against it: the bad limit is what is named
    [{ maxMessageBytes: 100, workerData: 'x'.repeat(2000) }, /Expected `maxMessageBytes` to be an integer from 1024 to 1073741824, got `100` \(number\)/],
    [{ dispatch: 'random' }, /Expected `dispatch` to be one of 'least-busy', 'round-robin', got `"random"` \(string\)/],
    [{ name: 'has space' }, /Expected `name` to be 1-64 characters/],
    [{ retries: -1 }, /Expected `retries`/],
    [{ taskTimeout: 0 }, /Expected `taskTimeout`/],
    // Node's timers fire a longer delay after 1 ms: an option that ends up in one is refused instead
    [{ taskTimeout: 2 ** 31 }, /Expected `taskTimeout` to be an integer from 1 to 2147483647 \(ms\), got `2147483648` \(number\)/],
    [{ stopTimeout: 30 * 86_400_000 }, /Expected `stopTimeout` to be an integer from 0 to 2147483647 \(ms\) or Infinity/],
    [{ timeoutGrace: Infinity }, /Expected `timeoutGrace`/],
    [{ reportInterval: 2 ** 31 }, /Expected `reportInterval`/],
    // a heartbeat at most every 10 ms: a shorter threshold reported the idle gaps between timers
    [{ blockedLoopThreshold: 10 }, /Expected `blockedLoopThreshold` to be an integer from 50 to 2147483647 \(ms\), got `10` \(number\)/],
    [{ maxQueue: '10' }, /Expected `maxQueue`.*got `"10"` \(string\)/],
    [{ sizee: 2 }, /Unknown option `sizee`/],
    [{ statsd: { hots: 'metrics.internal' } }, /Unknown option `statsd.hots`/],
    [{ worker: 'data:text/javascript,1' }, /Expected `worker` to be a file path or a file: URL/],
    [{ worker: 42 }, /Expected `worker` to be a file path or a file: URL, got `42` \(number\)/],
    [{ worker: new URL('https://example.test/w.mjs') }, /^Expected `worker` to be a file: URL, got the URL "https:\/\/example.test\/w.mjs"$/],
    // null is refused, not read as the default (it was, for most options)
    [{ size: null }, /Expected `size` not to be null \(leave it out for its default\)/],
    [{ maxQueue: null }, /Expected `maxQueue` not to be null/],
    [{ env: null }, /Expected `env` not to be null/],
    [{ statsd: { port: null } }, /Expected `statsd.port` not to be null/],
    // an array is no options object: its entries would be read as keys
    [{ env: [] }, /Expected `env` to be an object, got/],
    [{ statsd: [] }, /Expected `statsd` to be a hot-shots client or an options object, got/],
    [{ sentry: [] }, /Expected `sentry` to be an object or false, got an array/],
    // a DSN given as the option itself is refused without quoting it (it is a secret)
    [{ sentry: 'https://key@sentry.example/1' }, /^Expected `sentry` to be an object or false, got a value of type string \(a DSN goes in `sentry: \{ dsn \}`\)$/],
    [{ sentry: { dsn: 'https://key@sentry.example:99999/1' } }, /^Expected `sentry.dsn` to be a Sentry DSN .*, got a malformed string of \d+ characters$/],
    [{ env: { A: null } }, /Expected `env.A` to be a string without NUL characters, or undefined, got `null`/],
    // What spawn() refused in every worker, or read otherwise: a Map's entries are no keys (the workers had no PATH)
    [{ env: new Map([['PATH', '/usr/bin']]) }, /Expected `env` to be an object, got a Map/],
    [{ env: { A: 'x\0y' } }, /Expected `env.A` to be a string without NUL characters/],
    [{ env: { 'A=B': 'x' } }, /Expected the names in `env` to be non-empty, without '=' or NUL, got `"A=B"`/],
    // A hole reached spawn() as the argument "undefined"; an empty one ran no script
    [{ execArgv: [, '--no-warnings'] }, /Expected `execArgv` to be an array of non-empty strings without NUL characters/],
    [{ execArgv: [''] }, /Expected `execArgv` to be an array of non-empty strings/],
    [{ execArgv: ['--title=a\0b'] }, /Expected `execArgv` to be an array of non-empty strings without NUL characters/],
    // A client is what has the methods looppool calls: one without flush() failed at every report
    [{ statsd: { gauge() {}, increment() {}, timing() {} } }, /Unknown option `statsd.gauge` \(a hot-shots client is recognised by its methods gauge, increment, timing and flush/],
    [{ statsd: { globalTags: new Map([['env', 'prod']]) } }, /Expected `statsd.globalTags` to be an object of strings or an array of strings/],
    // sentry: a typo left Sentry off unnoticed; a null DSN fell back to SENTRY_DSN, and a bad one was blamed on the option
    [{ sentry: { dns: 'https://k@sentry.example/1' } }, /Unknown option `sentry.dns`/],
    [{ sentry: { dsn: null } }, /Expected `sentry.dsn` not to be null/],
    [{ sentry: { release: 7 } }, /Expected `sentry.release` to be a string, got a value of type number/],
  ])('invalid options throw a TypeError naming the option and the value: %o', (options, message) => {
    const create = () => new Pool({ worker: fixture('echo.ts'), ...(options as object) } as never);
    expect(create).toThrow(TypeError);
    expect(create).toThrow(message);
  });

  // Before: the getter's own Error surfaced as it was, naming no option; and `size` was read twice.
  it('an option getter that throws gives a TypeError naming the option, with what it threw as cause', () => {
    const thrown = new Error('config not loaded');
    const options = { worker: fixture('echo.ts'), get size(): number { throw thrown; } };
    let error: unknown;
    try {
      new Pool(options);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('Expected `size` to be readable, got an error when reading it (Error: config not loaded)');
    expect((error as Error).cause).toBe(thrown);
    const odd = { worker: fixture('echo.ts'), get name(): string { throw 'not yet'; } };
    expect(() => new Pool(odd)).toThrow('Expected `name` to be readable, got an error when reading it (`"not yet"` (string))');
  });

  it('reads each pool option once, own or inherited', () => {
    const reads = new Map<string, number>();
    const defaults = { name: 'inherited', get size(): number { reads.set('size', (reads.get('size') ?? 0) + 1); return 1; } };
    const target = Object.assign(Object.create(defaults) as object, { worker: fixture('echo.ts'), concurrency: 3 });
    const options = new Proxy(target, {
      get(object, key, receiver) {
        if (typeof key === 'string' && key !== 'size') reads.set(key, (reads.get(key) ?? 0) + 1);
        return Reflect.get(object, key, receiver) as unknown;
      },
    });
    const pool = new Pool(options as never); // never started: no process
    expect({ size: pool.size, concurrency: pool.concurrency, name: pool.name }).toEqual({ size: 1, concurrency: 3, name: 'inherited' });
    expect(reads.get('worker')).toBe(1);
    expect(reads.get('size')).toBe(1);
    expect([...reads].filter(([, count]) => count !== 1)).toEqual([]);
  });

  it('options that are no object are a TypeError in the wording of every other options object', () => {
    // Before: "Expected options to be an object" here, "Expected the options to be an object" everywhere else.
    expect(() => new Pool(null as never)).toThrow(new TypeError('Expected the options to be an object, got `null` (null)'));
    expect(() => new Pool('w.mjs' as never)).toThrow(/^Expected the options to be an object, got `"w.mjs"` \(string\)$/);
  });

  it('a Proxy whose traps throw as its keys are listed is a TypeError too, with what it threw as cause', async () => {
    // Before: the trap's own error surfaced (Object.keys and the object's tag were read outside the checks).
    const cause = new Error('trap');
    const noKeys = new Proxy({}, { ownKeys: () => { throw cause; } });
    const noGet = new Proxy({}, { get: () => { throw cause; } });
    const pool = new Pool({ worker: fixture('echo.ts'), size: 1 }); // never started: no process
    const attempts: [() => unknown, string][] = [
      [() => new Pool(noKeys as never), 'Expected the options to be readable, got an error when listing their keys (Error: trap)'],
      [() => new Pool({ worker: fixture('echo.ts'), statsd: noGet as never }), 'Expected `statsd` to be readable, got an error when listing its keys (Error: trap)'],
      [() => pool.putNowait(1, noKeys as never), 'Expected the options to be readable, got an error when listing their keys (Error: trap)'],
      [() => pool.run(1, noGet as never), 'Expected the options to be readable, got an error when listing their keys (Error: trap)'],
      [() => pool.stop(noKeys as never), 'Expected the options to be readable, got an error when listing their keys (Error: trap)'],
    ];
    for (const [attempt, message] of attempts) {
      const error = await failureOf(attempt);
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({ message, cause });
    }
    expect(pool.state).toBe('created');
  });

  // Before: the getter's own error surfaced, naming no option; and each was read three times (the null check, the type check, its use).
  it('reads each nested pool option once: a `sentry` getter that throws is a TypeError naming `sentry.<key>`', async () => {
    const cause = new Error('secrets not loaded');
    expectUnreadable(await failureOf(() => new Pool({ worker: fixture('echo.ts'), sentry: throwingGetter({}, 'dsn', cause) })), 'sentry.dsn', cause);
    const release = changingGetter({}, 'release', ['r1', 7]);
    new Pool({ worker: fixture('echo.ts'), sentry: release.options }); // no DSN: Sentry stays off; never started: no process
    expect(release.reads()).toBe(1);
  });

  it('bad per-task options throw a TypeError at once, start nothing and queue nothing', async () => {
    const pool = new Pool({ worker: fixture('echo.ts'), size: 1 });
    const calls: [string, () => unknown, RegExp][] = [
      ['put with a run option', () => pool.putNowait(1, { signal: new AbortController().signal } as never), /Unknown option `signal` \(put and putNowait take `worker` and `timeout`; it is an option of run\)/],
      ['a typo', () => pool.putNowait(1, { timout: 5 } as never), /Unknown option `timout`/],
      ['a signal that is not one', () => pool.run(1, { signal: 'stop' as never }), /Expected `signal` to be an AbortSignal, got `"stop"` \(string\)/],
      ['a callback that is not one', () => pool.run(1, { onSubmit: 42 as never }), /Expected `onSubmit` to be a function/],
      ['options that are no object', () => pool.run(1, null as never), /Expected the options to be an object, got `null`/],
      ['options that are an array', () => pool.putNowait(1, [] as never), /Expected the options to be an object, got an array/],
      // Their contents are no keys: `worker: 99` in a Map was read as no option at all.
      ['options that are a Map', () => pool.run(1, new Map([['worker', 99]]) as never), /Expected the options to be an object, got a Map/],
      ['options that are a Date', () => pool.put(1, new Date() as never), /Expected the options to be an object, got a Date/],
    ];
    for (const [what, call, message] of calls) {
      let thrown: unknown;
      try {
        await call();
      } catch (error) {
        thrown = error;
      }
      expect(thrown, what).toBeInstanceOf(TypeError);
      expect((thrown as Error).message, what).toMatch(message);
    }
    await expect(pool.put(1, { onDispatch: () => {} } as never)).rejects.toThrow(/Unknown option `onDispatch`/);
    expect(pool.state).toBe('created'); // nothing started a worker
    expect(pool.stats().queued).toBe(0);
    await pool.stop();
  });

  // Before: the getter's own error surfaced, naming no option (put and run rejected with it, putNowait threw it).
  it('a per-task option getter that throws fails that call as a bad value does, with a TypeError naming it; the next task runs', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    const cause = new Error('config not loaded');
    const put = pool.put(1, throwingGetter({}, 'timeout', cause)); // rejects, does not throw
    expectUnreadable(await failureOf(() => put), 'timeout', cause);
    let thrown: unknown;
    try {
      pool.putNowait(1, throwingGetter({}, 'worker', cause));
    } catch (error) {
      thrown = error;
    }
    expectUnreadable(thrown, 'worker', cause);
    const run = pool.run(1, throwingGetter({}, 'onSubmit', cause));
    expectUnreadable(await failureOf(() => run), 'onSubmit', cause);
    expect(pool.state).toBe('created'); // nothing started a worker
    expect(pool.stats().queued).toBe(0);
    expect(await pool.run('next')).toBe('next');
  });

  // Before: signal, onDispatch and onSubmit were each read again after their check, and the second value was used.
  it('reads each per-task option once: the value checked is the value used', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    const calls: string[] = [];
    const onDispatch = changingGetter({}, 'onDispatch', [() => calls.push('dispatch checked'), () => calls.push('dispatch other')]);
    const onSubmit = changingGetter({}, 'onSubmit', [() => calls.push('submit checked'), () => calls.push('submit other')]);
    const signal = changingGetter({}, 'signal', [new AbortController().signal, AbortSignal.abort()]);
    expect(await pool.run(1, onDispatch.options)).toBe(1);
    expect(await pool.run(2, onSubmit.options)).toBe(2);
    expect(await pool.run(3, signal.options)).toBe(3);
    expect(calls).toEqual(['dispatch checked', 'submit checked']);
    expect([onDispatch.reads(), onSubmit.reads(), signal.reads()]).toEqual([1, 1, 1]);
  });

  it('map() reads each option once: a getter that throws is a TypeError naming it; the window checked is the one used', async () => {
    const pool = makePool({ worker: 'echo.ts', size: 1 });
    const cause = new Error('config not loaded');
    expectUnreadable(await failureOf(() => pool.map([1], throwingGetter({}, 'window', cause))), 'window', cause);
    const window = changingGetter({}, 'window', [1, 'x']);
    const results: unknown[] = [];
    for await (const result of pool.map([1, 2, 3], window.options)) results.push(result);
    expect(results).toEqual([1, 2, 3]);
    expect(window.reads()).toBe(1);
  });

  it('map() and addMetricSource() refuse what they cannot take at once, with a TypeError', () => {
    const pool = new Pool({ worker: fixture('echo.ts'), size: 1 }); // never started: no process
    expect(() => pool.map([1], { windw: 3 } as never)).toThrow(/Unknown option `windw`/);
    expect(() => pool.map([1], { ordered: 'no' as never })).toThrow(/Expected `ordered` to be a boolean, got `"no"` \(string\)/);
    expect(() => pool.map([1], { window: 0 })).toThrow(/Expected `window` to be a positive integer, got `0` \(number\)/);
    expect(() => pool.map([1], { signal: 'stop' as never })).toThrow(/Expected `signal` to be an AbortSignal, got `"stop"` \(string\)/);
    expect(() => pool.map([1], { timeout: -5 })).toThrow(/Expected `timeout` to be/);
    expect(() => pool.map([1], [] as never)).toThrow(/Expected the options to be an object, got an array/);
    expect(() => pool.map(5 as never)).toThrow(/Expected the input to be an iterable or async iterable, got `5` \(number\)/);
    expect(() => pool.addMetricSource(5 as never)).toThrow(/Expected the metric source to be a function/);
    expect(pool.state).toBe('created');
  });

  it('refuses workerData that cannot be sent with SerializationError naming the path', () => {
    expect(() => new Pool({ worker: fixture('echo.ts'), workerData: { f: () => 1 } })).toThrow(SerializationError);
    expect(() => new Pool({ worker: fixture('echo.ts'), workerData: { f: () => 1 } })).toThrow(/Cannot send workerData\.f: functions cannot be sent/);
  });

  it('workers do not inherit the parent\'s --inspect flag', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--inspect=0', path.resolve(here, '../fixtures/parents/inspect-parent.mjs'), fixture('echo.mjs')],
      { timeout: 30_000 },
    );
    const out = JSON.parse(stdout.trim().split('\n').pop() as string);
    expect(out.parentExecArgv).toContain('--inspect=0');
    expect(out.answer).toBe('hello');
  });

  // The parent's flags include `-e <script>`: passed on, every worker would run the script again
  // and start pools of its own, without end. A worker that did exits at once here (the guard),
  // so a regression fails the test instead of filling the machine.
  it.each([['-e'], ['-p']])('a pool made in `node %s <script>` starts workers that do not run the script', async (flag) => {
    const script = `(async () => {
      if (process.env.LOOPPOOL_EVAL_GUARD === 'inside') process.exit(3);
      process.env.LOOPPOOL_EVAL_GUARD = 'inside';
      const { Pool } = await import('looppool');
      const pool = new Pool({ worker: ${JSON.stringify(fixture('echo.mjs'))}, size: 2, restartOnError: false });
      const answers = await Promise.all([pool.run('a'), pool.run('b')]);
      await pool.stop();
      process.stdout.write(JSON.stringify({ answers, execArgv: process.execArgv.slice(0, 1) }) + '\\n');
    })()`;
    const { stdout } = await promisify(execFile)(process.execPath, [flag, script], { cwd: path.resolve(here, '../..'), timeout: 30_000 });
    const out = JSON.parse(stdout.split('\n').find((line) => line.startsWith('{')) as string);
    expect(out).toEqual({ answers: ['a', 'b'], execArgv: [flag] });
  });
});
