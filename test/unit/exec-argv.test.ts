import { describe, expect, it } from 'vitest';
import { inheritedEnv, inheritedExecArgv } from '../../src/internal/exec-argv.ts';

describe('the Node flags workers inherit (execArgv default)', () => {
  it.each([
    // The inspector would make every child bind the parent's port.
    [['--inspect=0', '--no-warnings'], ['--no-warnings']],
    [['--inspect-brk', '--inspect-port', '9230', '--enable-source-maps'], ['--enable-source-maps']],
    [['--inspect-port=9230', '--debug'], []],
    // The parent's own script: a worker must not run it again (and start pools of its own).
    [['-e', 'new Pool(...)'], []],
    [['--input-type=module', '--eval', 'await pool.run(1)'], []],
    [['--input-type', 'commonjs', '-e', 'x', '--no-warnings'], ['--no-warnings']],
    [['--eval=x()'], []],
    [['-pe', '1 + 1'], []],
    [['--print', 'x', '--max-old-space-size=512'], ['--max-old-space-size=512']],
    [['-i'], []],
    [['--check'], []],
    // The test runner's and watch mode's flags describe the parent process too.
    [['--test', '--test-reporter', 'spec', '--test-only', '--test-name-pattern=pool', '--import', 'tsx'], ['--import', 'tsx']],
    [['--watch', '--watch-path', 'src', '--watch-preserve-output', '--require', './setup.cjs'], ['--require', './setup.cjs']],
    // Everything else is how Node runs, and is passed on as it is.
    [['--import', 'tsx', '--enable-source-maps', '--max-semi-space-size=16', '--conditions', 'dev'], ['--import', 'tsx', '--enable-source-maps', '--max-semi-space-size=16', '--conditions', 'dev']],
  ])('%j -> %j', (argv, expected) => {
    expect(inheritedExecArgv(argv)).toEqual(expected);
  });
});

describe('the environment workers inherit (env default): NODE_OPTIONS without the inspector', () => {
  it.each([
    ['--inspect', undefined],
    ['--inspect-brk=0 --max-old-space-size=512', '--max-old-space-size=512'],
    ['--require ./x.cjs --inspect-port 9230 --inspect-wait --enable-source-maps', '--require ./x.cjs --enable-source-maps'],
    ['--debug-port=1 --no-warnings  --import tsx', '--no-warnings --import tsx'],
    // Quoted values are kept as written, and a quoted --inspect is a value, not a flag.
    ['--require "./dir with --inspect/x.cjs" --inspect=127.0.0.1:0', '--require "./dir with --inspect/x.cjs"'],
    ['--title "a \\" --inspect b" --inspect', '--title "a \\" --inspect b"'],
    ['--inspect-publish-uid=http --no-deprecation', '--inspect-publish-uid=http --no-deprecation'],
  ])('NODE_OPTIONS=%j -> %j', (options, expected) => {
    const env = inheritedEnv({ PATH: '/bin', NODE_OPTIONS: options });
    expect(env).toEqual(expected === undefined ? { PATH: '/bin' } : { PATH: '/bin', NODE_OPTIONS: expected });
  });

  it('is the environment itself when NODE_OPTIONS names no inspector flag', () => {
    const env = { PATH: '/bin', NODE_OPTIONS: '--max-old-space-size=512' };
    expect(inheritedEnv(env)).toBe(env);
    const none = { PATH: '/bin' };
    expect(inheritedEnv(none)).toBe(none);
  });
});
