/**
 * What makes two errors the same for the capture queue's per-key limit (capture-queue.ts): what
 * was captured (`kind`), and each error's name, message and stack down its `cause` chain (as
 * deep as the SDK follows it).
 *
 * The key is made in the failing task's own loop turn, and up to 100 are kept for an interval:
 * a text longer than {@link LONG_TEXT} characters (a message quoting a whole response body, say)
 * gives only its length, its start and its end. Whole, an error with a 40 MiB message made an
 * 80 MiB key at each failure (its stack repeats the message): 55–100 ms of the task's turn to
 * build and compare, and 100 such keys would have held 8 GiB.
 */

/** Longer texts are cut to their length, their first and their last {@link KEPT} characters. */
const LONG_TEXT = 16 * 1024;
const KEPT = 8 * 1024;
/** An error and its causes, as deep as the SDK's linked errors go (5 causes). */
const DEPTH = 6;

/** The key of `err` captured as `kind`; undefined when reading the error throws. */
export function errorKey(kind: string, err: unknown): string | undefined {
  try {
    let key = kind;
    let error = err;
    for (let depth = 0; depth < DEPTH && error instanceof Error; depth++) {
      key += `\n${bounded(String(error.name))}\n${bounded(String(error.message))}\n${bounded(String(error.stack))}`;
      error = error.cause;
    }
    return key;
  } catch {
    return undefined;
  }
}

function bounded(text: string): string {
  return text.length <= LONG_TEXT ? text : `[${text.length}]${text.slice(0, KEPT)}…${text.slice(-KEPT)}`;
}
