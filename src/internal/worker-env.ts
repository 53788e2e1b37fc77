/**
 * Environment variable every worker is started with: the pid of the pool's process. `looppool
 * ps`, `top` and `stop` read it from `/proc/<pid>/environ` to tell a worker's pool from a process
 * that adopted the worker once its parent died (pid 1, a subreaper); the worker removes it from
 * its own `process.env` at start.
 */
export const PARENT_PID_VAR = 'LOOPPOOL_PARENT_PID';

/**
 * Environment variable every worker is started with: the title it takes once looppool's code runs
 * in it (`looppool <name> worker <n>`). Until then its command line is still `node … main.js …`:
 * `looppool ps` and `top` read this from `/proc/<pid>/environ` to list it, as booting, under its
 * pool. The worker removes it from its own `process.env` at start, as PARENT_PID_VAR.
 */
export const WORKER_TITLE_VAR = 'LOOPPOOL_WORKER_TITLE';

/**
 * The title of worker `worker` of pool `name`: what `process.title` becomes, and WORKER_TITLE_VAR
 * holds. A further pool of that name in the same process (`instance` > 1: see pool-instances.ts)
 * has its workers titled `looppool <name>@<instance> worker <n>`: a name has no `@`, so `ps` reads
 * both back; the first pool's titles are the plain ones.
 */
export function workerTitle(name: string, worker: number, instance = 1): string {
  return `looppool ${instance > 1 ? `${name}@${instance}` : name} worker ${worker}`;
}
