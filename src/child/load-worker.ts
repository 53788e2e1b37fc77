/** Imports the user's worker module in the child and turns its default export into a Worker class. */
import { withSyntaxLocation } from './syntax-location.ts';
import { isWorkerClass, Worker, workerClassOf, type TaskContext, type WorkerClass } from './worker.ts';

const TYPESCRIPT = /\.(?:ts|mts|cts|tsx)$/;
const COMMONJS = /\.(?:cjs|cts)$/;

/** True for a module tsx must run. */
export function isTypeScript(moduleUrl: string): boolean {
  return TYPESCRIPT.test(new URL(moduleUrl).pathname);
}

type TaskFunction = (task: unknown, ctx: TaskContext) => unknown;

/**
 * Loads the worker module; a JavaScript one can start before `init` arrives ({@link preload}),
 * so its import overlaps the handshake.
 */
export class WorkerModule {
  #early: { url: string; loaded: Promise<{ worker: WorkerClass } | { thrown: unknown }> } | undefined;

  /** Start importing `moduleUrl` now. TypeScript modules wait for `init` (Sentry must load before tsx is registered). */
  preload(moduleUrl: string | undefined): void {
    if (!moduleUrl || isTypeScript(moduleUrl)) return;
    // What the module threw, as it was (an object, a string): the start fails with it as with one thrown after init.
    const loaded = loadWorkerClass(moduleUrl).then((worker) => ({ worker }), (thrown: unknown) => ({ thrown }));
    this.#early = { url: moduleUrl, loaded };
  }

  /** The Worker class of `moduleUrl`: the preloaded one when it is that module. See {@link loadWorkerClass}. */
  async load(moduleUrl: string): Promise<WorkerClass> {
    if (this.#early?.url !== moduleUrl) return loadWorkerClass(moduleUrl);
    const loaded = await this.#early.loaded;
    if ('thrown' in loaded) throw loaded.thrown;
    return loaded.worker;
  }
}

/** Load `moduleUrl` and return the Worker subclass to instantiate. Throws a plain Error with the reason. */
export async function loadWorkerClass(moduleUrl: string): Promise<WorkerClass> {
  if (isTypeScript(moduleUrl)) await registerTypeScript(moduleUrl);
  const ns = COMMONJS.test(new URL(moduleUrl).pathname) ? await requireModule(moduleUrl) : await importModule(moduleUrl);
  // A CommonJS module seen through tsx can arrive as { default: { default: X } }.
  let exported = ns.default;
  if (exported !== null && typeof exported === 'object' && 'default' in exported) {
    exported = (exported as { default: unknown }).default;
  }
  if (isWorkerClass(exported)) return exported;
  refuseWorkerLookalike(exported, moduleUrl);
  if (typeof exported === 'function') {
    if (/^class[\s{]/.test(Function.prototype.toString.call(exported))) {
      throw new TypeError(
        `the default export of ${moduleUrl} is a class that does not extend Worker (import { Worker } from 'looppool/worker')`,
      );
    }
    return wrapFunction(exported as TaskFunction);
  }
  throw new TypeError(
    `${moduleUrl} must export a Worker subclass or a task function as its default export (found ${describe(exported)}${namedWorkers(ns, exported)})`,
  );
}

/**
 * Refuse, with the fix, what is near a Worker class but none:
 * - an instance of one (`export default new MyWorker()`);
 * - an ES5 constructor whose prototype inherits from Worker's. Taken for a task function, it
 *   failed every task (Worker's class constructor cannot be called without `new`); one that
 *   builds itself with Reflect.construct would run, but without Worker's statics (a SafeWorker's
 *   `drainOnStop`: it would not drain).
 */
function refuseWorkerLookalike(exported: unknown, moduleUrl: string): void {
  if (typeof exported === 'function') {
    if (workerClassOf((exported as { prototype?: unknown }).prototype) === undefined) return;
    throw new TypeError(
      `the default export of ${moduleUrl} is a function whose prototype inherits from Worker but that is not a class extending it: write it as \`class ${exported.name || 'MyWorker'} extends Worker\``,
    );
  }
  const instanceOf = workerClassOf(exported);
  if (instanceOf === undefined) return;
  const name = instanceOf.name || 'MyWorker';
  const how = COMMONJS.test(new URL(moduleUrl).pathname) ? `module.exports = ${name}` : `export default ${name}`;
  throw new TypeError(`the default export of ${moduleUrl} is an instance of the Worker class ${name}: export the class, not an instance (${how})`);
}

/**
 * The hint for a Worker class exported by name only (`export class X`, `module.exports = { X }`),
 * a common slip: "; it exports the Worker class X by name: export it as the default (...)", or ''.
 */
function namedWorkers(ns: object, exported: unknown): string {
  const workersIn = (source: unknown): string[] => {
    if (source === null || typeof source !== 'object') return [];
    try {
      return Object.keys(source).filter((key) => key !== 'default' && isWorkerClass((source as Record<string, unknown>)[key]));
    } catch {
      return []; // a getter that throws: no hint
    }
  };
  const inExports = workersIn(exported); // module.exports = { X }
  const names = inExports.length > 0 ? inExports : workersIn(ns);
  if (names.length === 0) return '';
  const how = inExports.length > 0 ? `module.exports = ${names[0]}` : `export default class ${names[0]}`;
  return `; it exports the Worker class${names.length > 1 ? 'es' : ''} ${names.join(', ')} by name: export ${names.length > 1 ? 'one' : 'it'} as the default (${how})`;
}

/** An ES module (or one tsx compiles); a syntax error in it or in what it imports names its file and line. */
async function importModule(moduleUrl: string): Promise<{ default?: unknown }> {
  try {
    return (await import(moduleUrl)) as { default?: unknown };
  } catch (error) {
    throw withSyntaxLocation(error, moduleUrl);
  }
}

/**
 * A CommonJS file (`.cjs`, `.cts`) loaded by Node's CommonJS loader (through tsx's CommonJS hooks
 * for `.cts`), as `{ default: module.exports }`. Its `require()` then takes ES modules without
 * top-level await, `looppool/worker` among them. Loaded with `import()` while tsx's hooks are
 * registered, Node 20 would give the file a `require()` that fails on every ES module.
 */
async function requireModule(moduleUrl: string): Promise<{ default?: unknown }> {
  // Not before the entry has finished evaluating (preload runs while it does): the file's
  // require() of looppool/worker, the entry itself, would otherwise be a cycle Node refuses.
  await undefined;
  const { createRequire } = process.getBuiltinModule('node:module');
  const { fileURLToPath } = process.getBuiltinModule('node:url');
  return { default: createRequire(moduleUrl)(fileURLToPath(moduleUrl)) as unknown };
}

function wrapFunction(fn: TaskFunction): WorkerClass {
  return class FunctionWorker extends Worker {
    override processMessage(task: unknown, ctx: TaskContext): unknown {
      return fn(task, ctx);
    }
  };
}

/** tsx runs TypeScript worker files; loaded only for them, so JavaScript workers start faster. */
async function registerTypeScript(moduleUrl: string): Promise<void> {
  // tsx caches what it compiles in <tmpdir>/tsx-<euid>, and the first file it compiles fails
  // (the worker's start with it) when that directory cannot be made: a TMPDIR that does not
  // exist or is not this user's to write, a read-only /tmp (a container run with --read-only).
  // It then compiles without its cache. tsx reads the variable as it loads (its hooks thread
  // copies the environment as it starts); the worker's own environment stays as it was given.
  const uncached = !tsxCacheDirUsable() && process.env.TSX_DISABLE_CACHE === undefined;
  if (uncached) process.env.TSX_DISABLE_CACHE = '1';
  // tsx takes the tsconfig.json of the current directory (or above it): run from elsewhere (a
  // `looppool run` from another directory, a service's cwd), the worker lost its project's
  // `paths` (Cannot find module '@lib/x') and `experimentalDecorators` (other decorator
  // semantics, silently). The one nearest the worker file is its project's; TSX_TSCONFIG_PATH
  // set by the user wins, and without one above the worker tsx looks from the current directory.
  const tsconfig = process.env.TSX_TSCONFIG_PATH === undefined ? nearestTsconfig(moduleUrl) : undefined;
  if (tsconfig !== undefined) process.env.TSX_TSCONFIG_PATH = tsconfig;
  try {
    const esm = await import('tsx/esm/api');
    esm.register();
    const cjs = await import('tsx/cjs/api');
    cjs.register();
  } finally {
    if (uncached) delete process.env.TSX_DISABLE_CACHE;
    if (tsconfig !== undefined) delete process.env.TSX_TSCONFIG_PATH;
  }
}

/** The tsconfig.json in the worker file's directory or the nearest one above it; undefined when there is none. */
function nearestTsconfig(moduleUrl: string): string | undefined {
  const fs = process.getBuiltinModule('node:fs');
  const { dirname, join } = process.getBuiltinModule('node:path');
  const { fileURLToPath } = process.getBuiltinModule('node:url');
  for (let dir = dirname(fileURLToPath(moduleUrl)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'tsconfig.json');
    if (fs.statSync(candidate, { throwIfNoEntry: false })?.isFile()) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** True when tsx's cache directory exists or can be made, as tsx makes it (recursively). */
function tsxCacheDirUsable(): boolean {
  const fs = process.getBuiltinModule('node:fs');
  const os = process.getBuiltinModule('node:os');
  const { join } = process.getBuiltinModule('node:path');
  try {
    fs.mkdirSync(join(os.tmpdir(), `tsx-${process.geteuid ? process.geteuid() : os.userInfo().username}`), { recursive: true });
    return true;
  } catch {
    return false;
  }
}

function describe(value: unknown): string {
  return value === undefined ? 'no default export' : value === null ? 'null' : typeof value;
}
