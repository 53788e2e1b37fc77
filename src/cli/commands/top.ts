/**
 * `looppool top`: `ps` refreshed every second, plus each pool's queue, in-flight tasks,
 * throughput and loop delay read from its control channel, and its recent worker events.
 */
import { Option, type Command } from 'commander';
import { controlRequest, subscribeControlEvents, type ControlStats } from '../../control/index.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { fit, printable } from '../format.ts';
import { canRedraw, readerGone, type CliIo } from '../io.ts';
import { findPools, poolLabel, selectPools } from '../proc/pools.ts';
import { poolPids, viewPools, type LivePool } from '../proc/pool-view.ts';
import { forgetUsage, sampleUsage } from '../proc/usage.ts';
import { renderTop, type TopEvent } from '../top/frame.ts';

interface TopFlags {
  interval: string;
  iterations?: string;
}

const MAX_EVENTS = 8;
/** The longest delay a timer takes (2^31 - 1 ms, about 24.8 days); a longer one fires after 1 ms. */
const MAX_INTERVAL = 2 ** 31 - 1;

/** Register `top` on the program. */
export function addTopCommand(program: Command, io: CliIo, done: (code: number) => void): void {
  program
    .command('top')
    .description('watch the pools live: processes, CPU, memory, queue, in flight, throughput')
    .argument('[pool]', 'only the pool with this name (name@2: the second of that name in its process) or pid')
    .addOption(new Option('-i, --interval <ms>', 'refresh period').default('1000', '1000 ms'))
    .option('-n, --iterations <n>', 'stop after this many screens (default: until q or Ctrl-C)')
    .addHelpText('after', '\nKeys: q or Ctrl-C quits. When stdout is not a terminal, screens are printed one after another.\n\nExamples:\n  $ looppool top\n  $ looppool top extract -n 1 > snapshot.txt')
    .action(async (target: string | undefined, flags: TopFlags) => done(await new Top(target, flags, io).run()));
}

class Top {
  readonly #target: string | undefined;
  readonly #io: CliIo;
  readonly #interval: number;
  readonly #iterations: number;
  readonly #events: TopEvent[] = [];
  readonly #subscriptions = new Map<string, () => void>();
  #interruptSleep: (() => void) | undefined;
  #stopped = false;
  #outputError: Error | undefined;

  constructor(target: string | undefined, flags: TopFlags, io: CliIo) {
    this.#target = target;
    this.#io = io;
    this.#interval = Number(flags.interval);
    if (!/^\d+$/.test(flags.interval) || this.#interval < 100 || this.#interval > MAX_INTERVAL) {
      throw new UsageError(`--interval must be from 100 to ${MAX_INTERVAL} ms, got ${JSON.stringify(flags.interval)}`);
    }
    this.#iterations = flags.iterations === undefined ? Infinity : Number(flags.iterations);
    if (flags.iterations !== undefined && (!/^\d+$/.test(flags.iterations) || this.#iterations < 1)) {
      throw new UsageError(`--iterations must be a positive integer, got ${JSON.stringify(flags.iterations)}`);
    }
  }

  async run(): Promise<number> {
    const terminal = canRedraw(this.#io.stdout, this.#io.env); // else frames one after another
    const restore = terminal ? this.#takeTerminal() : () => {};
    const onSignal = (): void => this.#stop();
    // Its reader is gone (`looppool top | head`, EPIPE): nobody will see another screen. Any other
    // error (`> /dev/full`: ENOSPC) ends it too, and fails the command.
    const onError = (error: NodeJS.ErrnoException): void => {
      if (!readerGone(error)) this.#outputError ??= error;
      this.#stop();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    this.#io.stdout.on('error', onError);
    try {
      for (let i = 0; i < this.#iterations && !this.#stopped; i++) {
        if (i > 0) await this.#sleep();
        if (this.#stopped) break;
        const lines = renderTop(await this.#collect(), this.#events, new Date(), this.#interval, this.#target).map(printable);
        this.#draw(lines, terminal);
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      for (const unsubscribe of this.#subscriptions.values()) unsubscribe();
      forgetUsage();
      restore();
    }
    // Once the last screen is written (or failed): its error comes after the callbacks.
    await new Promise<void>((resolve) => this.#io.stdout.write('', () => setImmediate(resolve)));
    this.#io.stdout.off('error', onError);
    if (this.#outputError === undefined) return EXIT.OK;
    this.#io.stderr.write(`looppool top: cannot write the output: ${this.#outputError.message}\n`);
    return EXIT.FAILED;
  }

  async #collect(): Promise<LivePool[]> {
    const found = this.#target === undefined ? findPools() : selectPools(findPools(), this.#target);
    const [usage, live] = await Promise.all([
      sampleUsage(poolPids(found)),
      Promise.all(found.map((p) => (p.control ? controlRequest(p.control, { op: 'stats' }, 800).catch(() => undefined) : undefined))),
    ]);
    for (const pool of found) if (pool.control) this.#subscribe(poolLabel(pool), pool.control);
    return viewPools(found, usage).map((view, i) => ({ ...view, live: live[i] as ControlStats | undefined }));
  }

  #subscribe(name: string, path: string): void {
    if (this.#subscriptions.has(path)) return;
    const unsubscribe = subscribeControlEvents(
      path,
      (event) => {
        this.#events.push({ pool: name, event });
        if (this.#events.length > MAX_EVENTS) this.#events.shift();
      },
      () => this.#subscriptions.delete(path),
    );
    this.#subscriptions.set(path, unsubscribe);
  }

  #draw(lines: string[], terminal: boolean): void {
    if (!terminal) {
      this.#io.stdout.write(`${lines.join('\n')}\n\n`);
      return;
    }
    const rows = this.#io.stdout.rows ?? 50;
    const width = this.#io.stdout.columns;
    const screen = lines.slice(0, rows - 1).map((l) => `${fit(l, width)}\x1b[K`);
    this.#io.stdout.write(`\x1b[H${screen.join('\n')}\n\x1b[J`);
  }

  /** Alternate screen, hidden cursor, keys read raw; returns what puts the terminal back. */
  #takeTerminal(): () => void {
    const { stdin, stdout } = this.#io;
    stdout.write('\x1b[?1049h\x1b[?25l');
    const onKey = (key: Buffer): void => {
      if (key.includes(0x71) || key.includes(0x51) || key.includes(0x03)) this.#stop(); // q, Q, Ctrl-C
    };
    const raw = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
    if (raw) {
      stdin.setRawMode?.(true);
      stdin.on('data', onKey);
      stdin.resume();
    }
    const onResize = (): void => this.#wake();
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
      if (raw) {
        stdin.off('data', onKey);
        stdin.setRawMode?.(false);
        stdin.pause();
      }
      stdout.write('\x1b[?25h\x1b[?1049l');
    };
  }

  #sleep(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#wake(), this.#interval);
      this.#interruptSleep = () => {
        clearTimeout(timer);
        this.#interruptSleep = undefined;
        resolve();
      };
    });
  }

  #wake(): void {
    this.#interruptSleep?.();
  }

  #stop(): void {
    this.#stopped = true;
    this.#wake();
  }
}
