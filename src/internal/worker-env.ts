/**
 * Environment variable every worker is started with: the pid of the pool's process. `looppool
 * ps`, `top` and `stop` read it from `/proc/<pid>/environ` to tell a worker's pool from a process
 * that adopted the worker once its parent died (pid 1, a subreaper); the worker removes it from
 * its own `process.env` at start.
 */
export const PARENT_PID_VAR = 'LOOPPOOL_PARENT_PID';
