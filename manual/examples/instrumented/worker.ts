/**
 * The InstrumentedWorker of Python Looppool, for Node: reports its process (CPU, memory, event
 * loop) and its tasks (count, failures, duration) to statsd, and task errors to Sentry. It runs
 * just as well with neither present: statsd is UDP (nothing listening changes nothing), and
 * Sentry is only loaded when SENTRY_DSN is set.
 *
 *   npx looppool run manual/examples/instrumented/worker.ts --input manual/examples/instrumented/tasks.jsonl \
 *     --worker-data '{"statsd":{"host":"127.0.0.1","port":8125}}'
 */
import StatsDClient, { type StatsD } from 'hot-shots';
import { ResourceReporter, SafeWorker } from 'looppool/worker';

interface Settings {
  statsd?: { host?: string; port?: number; prefix?: string };
}

export interface Task {
  id: number;
  /** Milliseconds of simulated I/O. */
  ms?: number;
  /** Fail this task (to see it in Sentry). */
  fail?: boolean;
}

type Sentry = typeof import('@sentry/node');

export default class Instrumented extends SafeWorker<Task, { id: number; worker: number }> {
  #statsd: StatsD | undefined;
  #reporter: ResourceReporter | undefined;
  #sentry: Sentry | undefined;

  override async initialize(): Promise<void> {
    const settings = (this.workerData ?? {}) as Settings;
    const prefix = `${settings.statsd?.prefix ?? 'example'}.${this.poolName}.worker.${this.number}`;
    this.#statsd = new StatsDClient({
      host: settings.statsd?.host ?? '127.0.0.1',
      port: settings.statsd?.port ?? 8125,
      prefix: `${prefix}.`,
      errorHandler: () => {}, // statsd down or unresolvable: metrics are best effort
    });
    // Process metrics every second: cpu, rss, heap, loop delay and utilisation, handles.
    this.#reporter = new ResourceReporter(this.#statsd, '', { interval: 1000 });
    this.#reporter.start();
    if (process.env.SENTRY_DSN) {
      this.#sentry = await import('@sentry/node');
      this.#sentry.init({ dsn: process.env.SENTRY_DSN });
      this.#sentry.setTags({ pool: this.poolName, worker: String(this.number) });
    }
  }

  override async processMessage(task: Task) {
    const started = performance.now();
    try {
      await new Promise((resolve) => setTimeout(resolve, task.ms ?? 10));
      if (task.fail) throw new Error(`task ${task.id} failed on purpose`);
      this.#statsd?.increment('tasks.done');
      return { id: task.id, worker: this.number };
    } catch (error) {
      this.#statsd?.increment('tasks.failed');
      this.#sentry?.captureException(error, { tags: { task: String(task.id) } }); // the task payload is not sent
      throw error;
    } finally {
      this.#statsd?.timing('tasks.duration', performance.now() - started);
    }
  }

  override async dispose(): Promise<void> {
    this.#reporter?.stop();
    this.#reporter?.report(); // one last batch
    await new Promise<void>((resolve) => (this.#statsd ? this.#statsd.close(() => resolve()) : resolve()));
    await this.#sentry?.close(2000); // flush before the process exits
  }
}
