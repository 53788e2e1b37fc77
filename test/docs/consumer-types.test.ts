/**
 * looppool's declarations as a TypeScript project that installs it sees them: a copy of the
 * package (package.json and dist/, as `npm pack` ships them; not a link, which would let the
 * compiler find this checkout's devDependencies) in a fresh project with only @types/node, checked
 * by `tsc` with the strictest settings users turn on, `skipLibCheck: false` among them.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');

const STRICT = {
  target: 'ES2022', lib: ['ES2023'], types: ['node'], strict: true, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true,
  noImplicitOverride: true, noPropertyAccessFromIndexSignature: true, verbatimModuleSyntax: true, isolatedModules: true, skipLibCheck: false, noEmit: true,
};

/** A project in a new folder with looppool installed as a package; `files`: its sources. */
function project(packageJson: object, compilerOptions: object, files: Record<string, string>, peers: readonly string[] = []): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-types-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const installed = path.join(dir, 'node_modules/looppool');
  mkdirSync(installed, { recursive: true });
  cpSync(path.join(root, 'package.json'), path.join(installed, 'package.json'));
  cpSync(path.join(root, 'dist'), path.join(installed, 'dist'), { recursive: true, filter: (f) => !f.endsWith('.map') });
  // What `npm install` adds beside it: its dependencies (not its devDependencies), and the project's @types/node
  // (and `peers`: the optional peer dependencies the project installs itself).
  const { dependencies } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const name of [...Object.keys(dependencies), '@types/node', ...peers]) {
    mkdirSync(path.dirname(path.join(dir, 'node_modules', name)), { recursive: true });
    symlinkSync(path.join(root, 'node_modules', name), path.join(dir, 'node_modules', name));
  }
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'uses-looppool', private: true, ...packageJson }));
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.ts', '*.cts'] }));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

/** `tsc -p dir`: its output (empty when the project type-checks). */
async function typeCheck(dir: string): Promise<string> {
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', dir], { timeout: 120_000 });
    return '';
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error);
  }
}

const WORKER = `import { Worker, type TaskContext } from 'looppool/worker';

export default class Lengths extends Worker<string, number> {
  override async processMessage(text: string, ctx: TaskContext): Promise<number> {
    ctx.signal.throwIfAborted();
    return text.length;
  }
}
`;

// Options built from the application's own optional settings: undefined is what a setting left
// out is, and the pool takes it as left out (exactOptionalPropertyTypes refused it before).
const MAIN = `import { Pool, PoolError, TaskError, TaskTimeoutError, type PoolOptions } from 'looppool';

interface Settings { workers?: number; timeoutMs?: number; signal?: AbortSignal }
const settings: Settings = {};
const flags = ['--enable-source-maps'] as const;
const options: PoolOptions = { worker: new URL('./worker.ts', import.meta.url), size: settings.workers, taskTimeout: settings.timeoutMs, execArgv: flags };
const pool = new Pool<string, number>(options);
pool.on('result', (value, info) => console.log(value + 1, info.taskId));
pool.stopOnSignals({ signals: ['SIGINT', 'SIGTERM'] as const });
try {
  const length: number = await pool.run('hello', { signal: settings.signal, timeout: settings.timeoutMs });
  console.log(length);
  // @ts-expect-error a Pool<string, number> takes strings
  await pool.run(123);
} catch (error) {
  if (error instanceof TaskError && error.cause.code === 'E_QUOTA') console.log('the worker ran out of quota'); // its error's own properties
  else if (error instanceof TaskTimeoutError) {
    const code: 'ERR_TASK_TIMEOUT' = error.code; // each error class has its code as a literal type
    console.log(code);
  } else if (error instanceof PoolError) console.log(error.code);
}
// The errors a put task fails with, each told apart by its code without a cast (before: a plain Error, no code).
pool.on('taskError', (error, info) => {
  switch (error.code) {
    case 'ERR_TASK_FAILED': console.log(error.cause.code, error.taskId === info.taskId); break;
    case 'ERR_TASK_TIMEOUT': console.log(error.phase, error.timeout); break;
    case 'ERR_WORKER_CRASHED': case 'ERR_POISON_TASK': console.log(error.exitCode, error.signal); break;
    case 'ERR_SERIALIZATION': console.log(error.reason, error.path); break;
    case 'ERR_WORKER_INIT': console.log(error.stage, error.module); break;
    case 'ERR_POOL_UNHEALTHY': console.log(error.failures); break;
    case 'ERR_WORKER_STOPPED': case 'ERR_POOL_STOPPED': console.log(error.message); break;
    default: {
      const none: never = error; // no other error reaches the event
      console.log(none);
    }
  }
  // @ts-expect-error a put task takes no signal: it is never aborted
  if (error.code === 'ERR_TASK_ABORTED') console.log(error);
});
pool.on('workerError', (error, info) => {
  // @ts-expect-error not one of the origins (a typo)
  if (info.origin === 'uncaughtExceptio') console.log(error);
});
await pool.stop({ timeout: settings.timeoutMs });
`;

describe('the declarations a TypeScript project gets', () => {
  it('type-check with the strictest settings, skipLibCheck off, in an ES module project (nodenext and bundler)', async () => {
    for (const resolution of [{ module: 'nodenext', moduleResolution: 'nodenext' }, { module: 'preserve', moduleResolution: 'bundler' }]) {
      const dir = project({ type: 'module' }, { ...STRICT, ...resolution, allowImportingTsExtensions: true }, { 'worker.ts': WORKER, 'main.ts': MAIN });
      expect(await typeCheck(dir)).toBe('');
    }
  });

  // Every options object of the API takes an option given as undefined as left out, as PoolOptions
  // does: exactOptionalPropertyTypes refused the metrics', whenIdle()'s and the BullMQ helpers' (a
  // setting of the application's own that may be missing had to be left out with a spread).
  it('take options given as undefined, under exactOptionalPropertyTypes (statsd, metrics, whenIdle, BullMQ)', async () => {
    const main = `import { Pool, PoolReporter, ResourceReporter, createStatsd, startPoolMetrics, whenIdle, type CreateStatsdOptions, type StatsdOptions } from 'looppool';
import { BullmqConsumer, consume, enqueueLines } from 'looppool/bullmq';

interface Settings { host?: string; port?: number; prefix?: string; interval?: number; name?: string; tags?: readonly string[]; force?: boolean; jobs?: number }
const settings: Settings = {};
const statsd: StatsdOptions = { host: settings.host, port: settings.port, prefix: settings.prefix, globalTags: settings.tags };
const pool = new Pool<string, number>({ worker: './worker.mjs', statsd: { host: settings.host, port: settings.port } });
const created: CreateStatsdOptions = { tags: settings.force, onError: undefined };
const handle = createStatsd(statsd, created);
new ResourceReporter(handle.client, 'app', { interval: settings.interval, tags: undefined });
new PoolReporter(handle.client, pool, { name: settings.name, interval: settings.interval });
startPoolMetrics(pool, statsd, { name: settings.name, interval: settings.interval });
pool.addMetricSource(() => ({ gauges: settings.jobs === undefined ? undefined : { jobs: settings.jobs } }));
await whenIdle({ timeout: settings.interval });
const consumer = new BullmqConsumer(pool, 'jobs', { connection: 'redis://127.0.0.1:6379', maxJobs: settings.jobs, readyTimeout: settings.interval, poolName: settings.name });
await consumer.close({ force: settings.force });
await (await consume(pool, 'jobs', { connection: 'redis://127.0.0.1:6379', concurrency: settings.jobs })).close();
await enqueueLines(['{}'], { queue: 'jobs', connection: 'redis://127.0.0.1:6379', batchSize: settings.jobs, jobName: settings.name, idField: settings.name });
`;
    const dir = project({ type: 'module' }, { ...STRICT, module: 'nodenext', moduleResolution: 'nodenext' }, { 'main.ts': main }, ['bullmq', 'ioredis']);
    expect(await typeCheck(dir)).toBe('');
  });

  // A library of workers compiled with `declaration: true` (its own .d.ts written): an exported
  // class expression or mixin over Worker had its type written out member by member, and Worker's
  // members keyed by symbols looppool does not export (its brand, its binding) and its #private
  // could not be (TS4023, TS2742, TS4094).
  it('let a project that writes declarations export a class expression or a mixin over Worker', async () => {
    const lib = `import { SafeWorker, Worker } from 'looppool/worker';

export const Upper = class extends Worker<string, string> {
  override processMessage(text: string): string { return text.toUpperCase(); }
};

export function withLogging<T extends new (...args: any[]) => Worker<string, string>>(Base: T) {
  return class extends Base {
    override initialize(): void { console.log('ready', this.number); }
  };
}

export default withLogging(class extends SafeWorker<string, string> {});
`;
    const dir = project({ type: 'module' }, { ...STRICT, module: 'nodenext', moduleResolution: 'nodenext', noEmit: false, declaration: true, emitDeclarationOnly: true, rootDir: '.', outDir: 'types' }, { 'lib.ts': lib });
    expect(await typeCheck(dir)).toBe('');
  });

  // Its compiler resolves as Node 10 did (module: commonjs), without `exports`: it found no types at all.
  it('type-check in a CommonJS project that requires looppool and looppool/worker (node10 and nodenext)', async () => {
    const main = `import looppool = require('looppool');
import worker = require('looppool/worker');
class Echo extends worker.Worker<string, string> {
  override processMessage(text: string): string { return text; }
}
const pool = new looppool.Pool<string, string>({ worker: __dirname + '/echo.js', size: 1 });
void pool.run('x').then((s: string) => console.log(s, Echo.name));
`;
    // nodenext too: it lets a CommonJS file require an ES module, as Node 20.19 does (node16 refuses: README).
    for (const resolution of [{ module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' }, { module: 'nodenext', moduleResolution: 'nodenext' }]) {
      const dir = project({ type: 'commonjs' }, { ...STRICT, ...resolution }, { 'main.ts': main });
      expect(await typeCheck(dir)).toBe('');
    }
  });

  // The maps led "go to definition" and stack traces to ../src/*.ts, which the package did not ship.
  it('ships the sources its maps point at', () => {
    const { files } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { files: string[] };
    const maps = (readdirSync(path.join(root, 'dist'), { recursive: true }) as string[]).filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const missing = new Set<string>();
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(path.join(root, 'dist', map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const shipped = path.relative(root, path.resolve(root, 'dist', path.dirname(map), source)).split(path.sep)[0] as string;
        if (!files.includes(shipped)) missing.add(source);
      }
    }
    expect([...missing]).toEqual([]);
  });
});
