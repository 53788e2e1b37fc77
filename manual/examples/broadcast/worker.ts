/**
 * A stateful worker: each process keeps a price table in memory and answers lookups from it.
 * `pool.broadcast(table)` replaces the table in every process at once (Python Looppool users
 * sent 2n-1 messages to reach every worker; here it is one call that returns when all have it).
 */
import { SafeWorker } from 'looppool/worker';

export interface PriceTable {
  version: number;
  prices: Record<string, number>;
}

export default class PriceLookup extends SafeWorker<string, { item: string; price: number | null; version: number; worker: number }> {
  #table: PriceTable = { version: 0, prices: {} };

  override initialize(): void {
    this.#table = (this.workerData as PriceTable | undefined) ?? this.#table;
  }

  override processMessage(item: string) {
    const price = Object.hasOwn(this.#table.prices, item) ? (this.#table.prices[item] as number) : null;
    return { item, price, version: this.#table.version, worker: this.number };
  }

  /** A new table: keep it, and tell the caller which version this process now holds. */
  override onBroadcast(message: unknown): number {
    this.#table = message as PriceTable;
    return this.#table.version;
  }
}
