/** What `looppool run` prints for a failed start: a syntax error's place, found in its error's stack (src/cli/run/start-error.ts). */
import { describe, expect, it } from 'vitest';
import { WorkerInitError } from '../../src/index.ts';
import { startFailureMessage, syntaxErrorSource } from '../../src/cli/run/start-error.ts';

/** An error with this stack, as the parent rebuilds a worker's. */
function withStack<E extends Error>(error: E, stack: string): E {
  error.stack = stack;
  return error;
}

const CJS_STACK = "/srv/w.cjs:4\n    return t +;\n              ^\n\nSyntaxError: Unexpected token ';'\n    at wrapSafe (node:internal/modules/cjs/loader:1464:18)";

describe('syntaxErrorSource', () => {
  it('reads the place Node heads a syntax error\'s stack with, in the error or a cause: file:line:column, the line, the caret', () => {
    const syntax = withStack(new SyntaxError("Unexpected token ';'"), CJS_STACK);
    expect(syntaxErrorSource(syntax)).toBe('/srv/w.cjs:4:15\n    return t +;\n              ^');
    const init = new WorkerInitError('Worker 0 failed to start', { module: 'file:///srv/w.cjs', stage: 'load' }, { cause: syntax });
    expect(syntaxErrorSource(init)).toBe('/srv/w.cjs:4:15\n    return t +;\n              ^');
    // Node 20's import() of an ES module naming an export that is not there: a file: URL, carets under the name.
    const missing = withStack(new SyntaxError('does not provide an export named'), "file:///srv/w.mjs:2\nimport { nope } from './x.mjs';\n         ^^^^\nSyntaxError: …\n    at ModuleJob._instantiate (node:internal/modules/esm/module_job:213:21)");
    expect(syntaxErrorSource(missing)).toBe("file:///srv/w.mjs:2:10\nimport { nope } from './x.mjs';\n         ^^^^");
  });

  it('gives only file:line at the end of the input (no line, no caret)', () => {
    expect(syntaxErrorSource(withStack(new SyntaxError('Unexpected end of input'), '/srv/w.cjs:2\n\n\n\nSyntaxError: Unexpected end of input\n    at wrapSafe (x:1:1)'))).toBe('/srv/w.cjs:2');
  });

  it('finds nothing in an ordinary error, its message ending in a number or not, nor in what is no error', () => {
    expect(syntaxErrorSource(new Error('module top-level failure'))).toBeUndefined();
    expect(syntaxErrorSource(withStack(new Error('connect ECONNREFUSED 127.0.0.1:6379'), 'Error: connect ECONNREFUSED 127.0.0.1:6379\n\n\n\n    at x (y:1:1)'))).toBeUndefined();
    expect(syntaxErrorSource(withStack(new SyntaxError('Unexpected token'), 'SyntaxError: Unexpected token\n    at JSON.parse (<anonymous>)'))).toBeUndefined();
    expect(syntaxErrorSource('/srv/w.cjs:4\n    return t +;\n              ^\n')).toBeUndefined();
    expect(syntaxErrorSource(null)).toBeUndefined();
  });

  it('startFailureMessage: what failed and the message, then the place on the lines after', () => {
    const syntax = withStack(new SyntaxError("Unexpected token ';'"), CJS_STACK);
    expect(startFailureMessage(syntax, 2)).toBe("the worker module failed to load: Unexpected token ';'\n/srv/w.cjs:4:15\n    return t +;\n              ^");
    expect(startFailureMessage(new Error('initialize() threw'), 3)).toBe('the pool could not start: initialize() threw');
  });

  it('startFailureMessage: the place an ES module\'s message ends with (src/child/syntax-location.ts) is shown once, below', () => {
    const located = withStack(new SyntaxError("Unexpected token ';' (/srv/w.mjs:4: return t +;)"), '/srv/w.mjs:4\n    return t +;\n              ^\n\nSyntaxError: x');
    const init = new WorkerInitError(`Worker 0 failed to start file:///srv/w.mjs: ${located.message}`, { module: 'file:///srv/w.mjs', stage: 'load' }, { cause: located });
    expect(startFailureMessage(init, 2)).toBe("the worker module failed to load: Worker 0 failed to start file:///srv/w.mjs: Unexpected token ';'\n/srv/w.mjs:4:15\n    return t +;\n              ^");
    const ended = withStack(new SyntaxError('Unexpected end of input (/srv/w.mjs:3: )'), '/srv/w.mjs:3\n\n\n\nSyntaxError: Unexpected end of input');
    expect(startFailureMessage(ended, 2)).toBe('the worker module failed to load: Unexpected end of input\n/srv/w.mjs:3');
    // Another message that happens to hold a place in brackets is left as it is.
    const other = withStack(new SyntaxError('Unexpected token (see /srv/w.mjs:9: x)'), CJS_STACK);
    expect(startFailureMessage(other, 2)).toBe('the worker module failed to load: Unexpected token (see /srv/w.mjs:9: x)\n/srv/w.cjs:4:15\n    return t +;\n              ^');
  });
});
