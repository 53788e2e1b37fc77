/**
 * Marks every process this test run starts (children inherit LOOPPOOL_TEST_RUN through the
 * environment) and, after the whole suite, fails the run if any of them is still alive.
 */
import { randomUUID } from 'node:crypto';
import { pidsWithEnv, waitFor } from './processes.ts';

export default function setup(): () => Promise<void> {
  const run = randomUUID();
  process.env.LOOPPOOL_TEST_RUN = run;
  return async () => {
    const left = (): number[] => pidsWithEnv('LOOPPOOL_TEST_RUN', run).filter((pid) => pid !== process.pid && pid !== process.ppid);
    try {
      await waitFor(() => left().length === 0, 'the processes of this test run to exit', 5_000);
    } catch {
      const pids = left();
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      throw new Error(`The test run left processes behind: ${pids.join(', ')} (killed now)`);
    }
  };
}
