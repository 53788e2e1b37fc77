/**
 * The records of a `looppool run --bullmq` as its jobs run (their shapes: job-records.ts): one
 * per finished job attempt, counted with its wait and run times, and one per result a task
 * streams, as it comes. A reader slower than the pool fills the output: the consumer then takes
 * no jobs until it drains. The session decides when the run ends (`--max-jobs` among others).
 */
import type { BullmqConsumer, JobEventInfo } from '../../bullmq/index.ts';
import type { Pool } from '../../index.ts';
import type { RecordWriter } from '../run/record-writer.ts';
import type { RunStats } from '../run/run-stats.ts';
import { completedRecord, failedRecord, failureInfo, unwritableRecord } from './job-records.ts';
import { writeStreamedResults } from './streamed-records.ts';

/** The records of one consuming run, written through the run's writer and counted in its stats. */
export class ConsumeRecords {
  readonly #consumer: BullmqConsumer<unknown, unknown>;
  readonly #writer: RecordWriter;
  readonly #stats: RunStats;
  /** Called after each finished attempt's record. */
  readonly #written: () => void;
  #records = 0;
  /** The output is full: the consumer takes no jobs until it drains. */
  #outputFull = false;

  constructor(pool: Pool<unknown, unknown>, consumer: BullmqConsumer<unknown, unknown>, writer: RecordWriter, stats: RunStats, written: () => void) {
    this.#consumer = consumer;
    this.#writer = writer;
    this.#stats = stats;
    this.#written = written;
    // As they come: a job's before its own record. The output may fill up with them too.
    writeStreamedResults(pool, consumer, () => this.#stats.extras++, (text) => {
      this.#writer.extra(null, text);
      this.#holdWhileOutputFull();
    });
    consumer.on('completed', (value, info) => {
      this.#stats.ok++;
      this.#write(info, () => completedRecord(info.jobId, info.meta.attempt, value));
    });
    consumer.on('failed', (error, info) => {
      this.#stats.fail(failureInfo(error).name);
      this.#write(info, () => failedRecord(info.jobId, info.meta.attempt, error));
    });
  }

  /** The output is full: the consumer takes no jobs until it drains. */
  get outputFull(): boolean {
    return this.#outputFull;
  }

  /** Write the record of a finished attempt and count it. */
  #write(info: JobEventInfo, record: () => string): void {
    this.#stats.wait.record(info.meta.waitMs);
    this.#stats.run.record(info.meta.runMs);
    let text: string;
    try {
      text = record();
    } catch (error) {
      text = unwritableRecord(info.jobId, info.meta.attempt, error);
    }
    this.#writer.expect(++this.#records);
    this.#writer.final(this.#records, text);
    this.#holdWhileOutputFull();
    this.#written();
  }

  /**
   * A reader slower than the pool (a pipe into something busy) fills the output: take no more
   * jobs until it drains, so that they wait in Redis instead of as records in this process.
   */
  #holdWhileOutputFull(): void {
    if (this.#outputFull || !this.#writer.needsDrain) return;
    this.#outputFull = true;
    this.#consumer.pause();
    void this.#writer.ready().then(() => {
      this.#outputFull = false;
      this.#consumer.resume();
    });
  }
}
