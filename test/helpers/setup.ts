/** After each test: every pool it made is stopped, and none of their processes is left. */
import { afterEach } from 'vitest';
import { stopTrackedPools } from './pools.ts';

afterEach(async () => {
  await stopTrackedPools();
});
