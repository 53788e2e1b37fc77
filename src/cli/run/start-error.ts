/**
 * What `looppool run` makes of a failed start: its exit code, and the line it prints. The rule
 * (manual/cli.md): 2 when the worker module itself is at fault — it cannot be found, does not
 * parse, throws while being imported, or exports no Worker (`WorkerInitError.stage` 'load') —
 * and 3 when the module loaded but the pool could not start (its `initialize()` threw, or a
 * worker died before it was ready). A syntax error's place is shown as Node shows it.
 */
import { WorkerInitError } from '../../index.ts';
import { EXIT } from '../exit-codes.ts';

/** Causes followed at most, looking for a syntax error's place. */
const MAX_CAUSES = 5;
/**
 * The head Node's loaders put on a syntax error's stack (the worker puts the same on an ES
 * module's, whose error Node 20 leaves without it): `<file>:<line>` (a path or a file: URL), then
 * the line and a caret line under the error, or, at the end of the input, empty lines.
 */
const SOURCE_HEAD = /^((?:file:\/\/|\/|[A-Za-z]:\\)[^\n]*:\d+)\n(?:([^\n]*)\n([ \t]*\^+)[ \t]*\n|\n\n\n(?=\w*Error\b))/;

/** 2 (the module) or 3 (its start-up), for an error `pool.start()` rejected with. */
export function startFailureExitCode(error: unknown): number {
  return error instanceof WorkerInitError && error.stage === 'load' ? EXIT.USAGE : EXIT.START;
}

/**
 * What the command prints for an error `pool.start()` rejected with, given its exit code: what
 * failed and the error's message, then, for a syntax error, where it is (see {@link syntaxErrorSource}).
 */
export function startFailureMessage(error: unknown, exitCode: number): string {
  const what = exitCode === EXIT.USAGE ? 'the worker module failed to load' : 'the pool could not start';
  const source = syntaxErrorSource(error);
  if (source === undefined) return `${what}: ${(error as Error).message}`;
  return `${what}: ${withoutPlace((error as Error).message, source)}\n${source}`;
}

/**
 * `message` without the ` (<file>:<line>: <the line>)` a worker adds to an ES module's syntax
 * error (src/child/syntax-location.ts: API users see only the message), which the lines after it
 * show again with the column and the caret.
 */
function withoutPlace(message: string, source: string): string {
  const lines = source.split('\n');
  // `<file>:<line>:<column>`, the line, the caret; or, at the end of the input, `<file>:<line>` alone.
  const at = lines.length === 3 ? (lines[0] as string).replace(/:\d+$/, '') : (lines[0] as string);
  const place = ` (${at}: ${(lines[1] ?? '').trim()})`;
  return message.endsWith(place) ? message.slice(0, -place.length) : message;
}

/**
 * Where the syntax error behind `error` (itself or a cause) is, as Node prints an uncaught one:
 * `<file>:<line>:<column>`, the line, and a caret under the error (only `<file>:<line>` at the end
 * of the input). Undefined for an error whose stack has no such head (any other error: no stack
 * is printed for those).
 */
export function syntaxErrorSource(error: unknown): string | undefined {
  let current = error;
  for (let i = 0; i < MAX_CAUSES && typeof current === 'object' && current !== null; i++) {
    const { stack, cause } = current as { stack?: unknown; cause?: unknown };
    const head = typeof stack === 'string' ? SOURCE_HEAD.exec(stack) : null;
    if (head) {
      const [, at, text, caret] = head as unknown as [string, string, string | undefined, string | undefined];
      return caret === undefined ? at : `${at}:${caret.indexOf('^') + 1}\n${text}\n${caret}`;
    }
    current = cause;
  }
  return undefined;
}
