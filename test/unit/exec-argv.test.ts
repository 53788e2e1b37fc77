import { describe, expect, it } from 'vitest';
import { inheritedExecArgv } from '../../src/internal/exec-argv.ts';

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
