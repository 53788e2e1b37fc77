/** No pool at all: the handler runs in this process, one task after another (workload B's base). */
import { handle } from '../handler.mjs';

export function create() {
  return {
    run: async (task) => handle(task),
    ready: async () => {},
    stop: async () => {},
  };
}
