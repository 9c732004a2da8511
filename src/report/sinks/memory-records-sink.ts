/**
 * @module report/sinks/memory-records-sink
 * A dry run's history and blocked files: the lines the daemon would append, kept in memory (replay
 * prints them; tests compare them), and the "already blocked" answers the blocked files would give.
 */
import type { BlockedLedger } from './blocked-files-sink.ts';
import type { BlockRecord, Sink } from '../reporter.ts';

export class MemoryRecordsSink implements Sink, BlockedLedger {
  /** Every block recorded, in order. */
  readonly records: BlockRecord[] = [];
  /** Addresses with a line in a blocked file now. */
  readonly #listed = new Set<string>();

  /** The history lines, in order. */
  get lines(): string[] {
    return this.records.map((r) => r.line);
  }

  has(address: string): Promise<boolean> {
    return Promise.resolve(this.#listed.has(address));
  }

  blocked(record: BlockRecord): Promise<void> {
    this.records.push(record);
    this.#listed.add(record.address);
    return Promise.resolve();
  }

  lifted(addresses: readonly string[]): Promise<void> {
    for (const address of addresses) this.#listed.delete(address);
    return Promise.resolve();
  }
}
