/**
 * Where a syntax error of an ES module is. Node 20's `import()` throws a SyntaxError whose stack
 * holds only Node's own frames, naming neither the file nor the line (`node file.mjs` prints
 * them; the error it gives `import()` has them in a field JS cannot read). Only when a worker's
 * module fails so: each JavaScript ES module file it reaches through relative imports is checked
 * with `node --check` in turn, the worker's first, until one fails (a TypeScript worker is not
 * checked, Node 20 cannot: only its imports are followed). The location then heads the error's
 * stack as Node's CommonJS loader heads a syntax error's (`<file>:<line>`, the line, a caret under
 * the error), so that either kind's can be shown as Node shows it (`looppool run` does).
 */

/** Files checked at most: a worker module rarely reaches more by relative imports. */
const MAX_FILES = 30;
const ES_MODULE = /\.(?:mjs|js)$/;
/** Relative specifiers of static imports and re-exports (`from './x.mjs'`, `import './x.mjs'`). */
const RELATIVE_IMPORT = /(?:\bfrom|\bimport)\s*['"](\.{1,2}\/[^'"]+)['"]/g;

/** Where `node --check` found a syntax error: `<file>:<line>`, the line's text, and the caret line under the error (both empty at the end of the input). */
interface SyntaxLocation {
  readonly at: string;
  readonly text: string;
  readonly caret: string;
}

/**
 * `error` with its file, line and the line's text added to its message when it is a SyntaxError
 * that names no file of the user's (a new SyntaxError, `error` as its cause, its stack headed by
 * the location as Node heads a CommonJS file's); otherwise `error`.
 */
export function withSyntaxLocation(error: unknown, moduleUrl: string): unknown {
  if (!(error instanceof SyntaxError) || /(?:file:\/\/|\s\/)[^\n]*:\d+/.test(error.stack ?? '')) return error;
  const where = locate(moduleUrl);
  if (where === undefined) return error;
  const located = new SyntaxError(`${error.message} (${where.at}: ${where.text.trim()})`, { cause: error });
  located.stack = `${where.at}\n${where.text}\n${where.caret}\n\n${located.stack ?? ''}`;
  return located;
}

/** The syntax error of the first file reached from `moduleUrl` that fails `node --check`. */
function locate(moduleUrl: string): SyntaxLocation | undefined {
  const { fileURLToPath } = process.getBuiltinModule('node:url');
  const path = process.getBuiltinModule('node:path');
  const fs = process.getBuiltinModule('node:fs');
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  let first: string;
  try {
    first = fileURLToPath(moduleUrl);
  } catch {
    return undefined; // not a file
  }
  const queue = [first];
  const seen = new Set(queue);
  for (let i = 0; i < queue.length && i < MAX_FILES; i++) {
    const file = queue[i] as string;
    const check = ES_MODULE.test(file) ? spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 }) : undefined;
    if (check && check.status !== 0 && check.stderr) {
      // Node prints `<file>:<line>`, the line, a caret under the error, then the error (a failure
      // of Node's own, such as an unknown extension, names one of its internal files instead).
      const [at, text = '', caret = ''] = check.stderr.split('\n');
      if (at?.startsWith(`${file}:`) && /:\d+$/.test(at)) return { at, text, caret: /^[ \t]*\^+$/.test(caret) ? caret : '' };
    }
    let source: string;
    try {
      source = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const match of source.matchAll(RELATIVE_IMPORT)) {
      const next = path.resolve(path.dirname(file), (match[1] as string).split(/[?#]/)[0] as string);
      if (ES_MODULE.test(next) && !seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return undefined;
}
