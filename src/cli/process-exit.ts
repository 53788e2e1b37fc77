/** How the `looppool` command process exits: with its code, not an abort, after its terminal hung up (see closeHungUpTerminals). */
import { closeHungUpTerminals } from '../control/index.ts';

export function exitCommand(code: number): never {
  closeHungUpTerminals();
  process.exit(code);
}
