/** How the `looppool` command process exits: with its code, not an abort, after its terminal hung up (see closeTerminals). */
import { closeTerminals } from '../control/index.ts';

export function exitCommand(code: number): never {
  closeTerminals();
  process.exit(code);
}
