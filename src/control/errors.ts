/** The control channel's error: a socket that cannot be created safely, or a request that failed. */
import { PoolError } from '../errors.ts';

/**
 * The control channel could not be opened safely (runtime directory not ours or not private,
 * chmod failed, path too long) or a request to one failed. Code `ERR_CONTROL_CHANNEL`.
 */
export class ControlChannelError extends PoolError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_CONTROL_CHANNEL', options);
  }
}

/**
 * A control request was delivered (the pool's socket accepted it) but not answered in time: the
 * pool's event loop is busy or the process is stopped, and it will read the request when it
 * resumes. Code `ERR_CONTROL_NO_ANSWER`.
 */
export class ControlNoAnswerError extends PoolError {
  constructor(message: string) {
    super(message, 'ERR_CONTROL_NO_ANSWER');
  }
}
