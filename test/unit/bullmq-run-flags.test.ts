/** The BullMQ `Worker` flags of `looppool run --bullmq` → the consumer's `workerOptions` (no process: the parsing alone). */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/exit-codes.ts';
import { assertNoBullmqFlags, bullmqRunConfig } from '../../src/cli/bullmq/run-options.ts';
import type { RunFlags } from '../../src/cli/run/options.ts';

const config = (flags: RunFlags) => bullmqRunConfig({ bullmq: 'q', ...flags }, {});

describe('looppool run --bullmq: BullMQ worker flags', () => {
  it('passes only the flags given, as BullMQ takes them', () => {
    expect(config({}).workerOptions).toEqual({});
    expect(config({ lockDuration: '5000', stalledInterval: '1000', maxStalledCount: '0', removeOnComplete: '0', removeOnFail: '100' }).workerOptions).toEqual({
      lockDuration: 5000, stalledInterval: 1000, maxStalledCount: 0, removeOnComplete: { count: 0 }, removeOnFail: { count: 100 },
    });
  });

  it('reads --remove-on-complete / --remove-on-fail as a count, age:<seconds>, or both', () => {
    expect(config({ removeOnComplete: '1000' }).workerOptions.removeOnComplete).toEqual({ count: 1000 });
    expect(config({ removeOnComplete: 'age:3600' }).workerOptions.removeOnComplete).toEqual({ age: 3600 });
    expect(config({ removeOnFail: '1000,age:86400' }).workerOptions.removeOnFail).toEqual({ count: 1000, age: 86400 });
  });

  it.each([
    [{ stalledInterval: '0' }, '--stalled-interval must be an integer >= 1, got "0"'],
    [{ stalledInterval: '1.5' }, '--stalled-interval must be an integer >= 1, got "1.5"'],
    [{ maxStalledCount: '-1' }, '--max-stalled-count must be an integer >= 0, got "-1"'],
    [{ removeOnComplete: 'all' }, '--remove-on-complete must be a count of jobs to keep (0: none), age:<seconds> or <count>,age:<seconds>, got "all"'],
    [{ removeOnComplete: 'true' }, '--remove-on-complete must be a count of jobs to keep'],
    [{ removeOnFail: 'age:0' }, '--remove-on-fail must be a count of jobs to keep'],
    [{ removeOnFail: 'age:1h' }, '--remove-on-fail must be a count of jobs to keep'],
    [{ removeOnFail: 'age:60,10' }, '--remove-on-fail must be a count of jobs to keep'],
    [{ removeOnFail: '' }, '--remove-on-fail must be a count of jobs to keep'],
    [{ removeOnFail: '99999999999999999999' }, '--remove-on-fail must be a count of jobs to keep'],
  ] as const)('refuses %o with a usage error', (flags, message) => {
    expect(() => config(flags)).toThrow(UsageError);
    expect(() => config(flags)).toThrow(message);
  });

  it('refuses them without --bullmq', () => {
    expect(() => assertNoBullmqFlags({ stalledInterval: '1000' })).toThrow('--stalled-interval needs --bullmq <queue>');
    expect(() => assertNoBullmqFlags({ maxStalledCount: '2', removeOnComplete: '0', removeOnFail: '0' })).toThrow(
      '--max-stalled-count, --remove-on-complete, --remove-on-fail need --bullmq <queue>',
    );
  });
});
