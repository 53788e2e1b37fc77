/**
 * What a process can measure about itself, one interval at a time: CPU, memory, event-loop delay
 * and utilisation, and the handles/requests keeping its loop alive. The arithmetic is in small
 * pure functions; the Node APIs are behind {@link SamplerHooks} so tests can feed fixed numbers.
 */
import type { EventLoopUtilization } from 'node:perf_hooks';
import { loopDelayHistogram, type DelayHistogram } from '../internal/loop-delay.ts';

/** Loop delay over one interval, in ms, with the sampling resolution already subtracted. */
export interface LoopDelay {
  readonly mean: number;
  readonly p99: number;
  readonly max: number;
}

/** One interval of a process, as the process sees itself. */
export interface ProcessSample {
  /** (user + system CPU time) / wall time, in % of one core (a process using 2 cores reports 200). */
  readonly cpu: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  /** Memory outside the V8 heap held by JavaScript objects: Buffers and ArrayBuffers (`process.memoryUsage().external`). */
  readonly external: number;
  /** Undefined when the histogram recorded nothing (an interval shorter than its resolution). */
  readonly loopDelay: LoopDelay | undefined;
  /** Event-loop utilisation: time the loop spent running callbacks / wall time, in % (0..100). */
  readonly loopUtilization: number;
  /** Active handles and requests by type (`Timeout`, `TCPSocketWrap`, `FSReqCallback`...); unref'd timers are not counted. */
  readonly resources: ReadonlyMap<string, number>;
}

/** The Node APIs a sampler reads. */
export interface SamplerHooks {
  /** Monotonic ms. */
  now(): number;
  cpuUsage(): NodeJS.CpuUsage;
  memoryUsage(): { rss: number; heapUsed: number; heapTotal: number; external: number };
  /** Cumulative event-loop utilisation (`performance.eventLoopUtilization()`). */
  eventLoopUtilization(): EventLoopUtilization;
  /** A loop-delay histogram sampling every `resolution` ms. */
  delayHistogram(resolution: number): DelayHistogram;
  /** `process.getActiveResourcesInfo()`. */
  activeResources(): string[];
}

export const NODE_SAMPLER_HOOKS: SamplerHooks = Object.freeze({
  now: () => performance.now(),
  cpuUsage: () => process.cpuUsage(),
  memoryUsage: () => process.memoryUsage(),
  eventLoopUtilization: () => performance.eventLoopUtilization(),
  delayHistogram: (resolution: number) => loopDelayHistogram(resolution),
  activeResources: () => process.getActiveResourcesInfo(),
});

/** Default loop-delay sampling resolution, ms (what the histogram's timer adds to every sample). */
export const LOOP_DELAY_RESOLUTION = 10;

/** CPU % of one core between two `process.cpuUsage()` readings (µs) taken `elapsedMs` apart. */
export function cpuPercent(previous: NodeJS.CpuUsage, current: NodeJS.CpuUsage, elapsedMs: number): number {
  if (!(elapsedMs > 0)) return 0;
  const usedMs = (current.user - previous.user + current.system - previous.system) / 1000;
  return Math.max(0, (usedMs / elapsedMs) * 100);
}

/** Loop utilisation in % between two cumulative `eventLoopUtilization()` readings. */
export function utilizationPercent(previous: EventLoopUtilization, current: EventLoopUtilization): number {
  const active = current.active - previous.active;
  const total = active + (current.idle - previous.idle);
  return total > 0 ? Math.min(100, Math.max(0, (active / total) * 100)) : 0;
}

/**
 * Mean, p99 and max of a loop-delay histogram, in ms. Every recorded sample includes the
 * histogram's own timer interval (`resolution`), so an idle loop reads ~10 ms at resolution 10:
 * subtract it to report the lag alone.
 */
export function loopDelayOf(histogram: DelayHistogram, resolution: number): LoopDelay | undefined {
  if (histogram.count === 0) return undefined;
  const lag = (ns: number): number => Math.max(0, ns / 1e6 - resolution);
  return { mean: lag(histogram.mean), p99: lag(histogram.percentile(99)), max: lag(histogram.max) };
}

/** `['Timeout', 'FSReqCallback', 'Timeout']` → `{ Timeout: 2, FSReqCallback: 1 }`. */
export function countResources(types: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of types) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** Samples its own process once per call, each time over the interval since the previous call. */
export class ProcessSampler {
  readonly #hooks: SamplerHooks;
  readonly #resolution: number;
  #histogram: DelayHistogram | undefined;
  #since = 0;
  #cpu: NodeJS.CpuUsage = { user: 0, system: 0 };
  #elu: EventLoopUtilization | undefined;

  constructor(hooks: Partial<SamplerHooks> = {}, resolution = LOOP_DELAY_RESOLUTION) {
    this.#hooks = { ...NODE_SAMPLER_HOOKS, ...hooks };
    this.#resolution = resolution;
  }

  /** Start measuring: the first `sample()` covers the time from here. */
  start(): void {
    this.#histogram ??= this.#hooks.delayHistogram(this.#resolution);
    this.#histogram.enable();
    this.#histogram.reset();
    this.#since = this.#hooks.now();
    this.#cpu = this.#hooks.cpuUsage();
    this.#elu = this.#hooks.eventLoopUtilization();
  }

  /** The interval since `start()` or the previous `sample()`. */
  sample(): ProcessSample {
    const now = this.#hooks.now();
    const cpu = this.#hooks.cpuUsage();
    const elu = this.#hooks.eventLoopUtilization();
    const memory = this.#hooks.memoryUsage();
    const histogram = this.#histogram;
    histogram?.catchUp(); // a block that just ended belongs to this interval, with its CPU and utilisation
    const sample: ProcessSample = {
      cpu: cpuPercent(this.#cpu, cpu, now - this.#since),
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      external: memory.external,
      loopDelay: histogram ? loopDelayOf(histogram, this.#resolution) : undefined,
      loopUtilization: this.#elu ? utilizationPercent(this.#elu, elu) : 0,
      resources: countResources(this.#hooks.activeResources()),
    };
    histogram?.reset();
    this.#since = now;
    this.#cpu = cpu;
    this.#elu = elu;
    return sample;
  }

  /** Stop the loop-delay histogram's timer. */
  stop(): void {
    this.#histogram?.disable();
  }
}
