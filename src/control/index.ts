/**
 * The local control channel: a private Unix socket per pool through which `looppool top` and
 * `looppool stop` talk to a running pool.
 * @module
 */
export { startControlServer, type ControlledPool, type ControlServer, type ControlServerOptions } from './server.ts';
export { controlRequest, subscribeControlEvents } from './client.ts';
export { controlDir, listControlSockets, listeningControlSockets, type ControlSocket } from './runtime-dir.ts';
export type { ControlEvent, ControlStats } from './protocol.ts';
export { ControlChannelError, ControlNoAnswerError } from './errors.ts';
export { PARENT_PID_VAR, WORKER_TITLE_VAR } from '../internal/worker-env.ts';
export { closeTerminals } from '../internal/close-terminals.ts';
