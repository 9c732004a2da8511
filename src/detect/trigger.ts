/**
 * @module detect/trigger
 * SCAN_TRIGGER with PortSentry 1.2's meaning: a source is acted on when this hit plus the hits already
 * counted for it reach the trigger, so 0 and 1 fire on the first hit, 2 on the second. Unlike 1.2's
 * 50-slot ring shared by all hosts (which a flood of other sources washes out), counts are kept per
 * source in a bounded least-recently-used table: memory stays fixed whatever the number of sources.
 */

export const DEFAULT_MAX_TRACKED_SOURCES = 65_536;

export class TriggerCounter {
  readonly #counts = new Map<string, number>();
  readonly #trigger: number;
  readonly #capacity: number;

  constructor(trigger: number, capacity = DEFAULT_MAX_TRACKED_SOURCES) {
    this.#trigger = trigger;
    this.#capacity = Math.max(1, capacity);
  }

  get trigger(): number {
    return this.#trigger;
  }

  /** Counts one hit from `source`; returns the count so far and whether the trigger is reached. */
  hit(source: string): { count: number; fired: boolean } {
    if (this.#trigger <= 1) return { count: 1, fired: true };
    const count = (this.#counts.get(source) ?? 0) + 1;
    this.#counts.delete(source); // re-insert: Map order is our recency order
    this.#counts.set(source, count);
    if (this.#counts.size > this.#capacity) {
      const oldest = this.#counts.keys().next().value;
      if (oldest !== undefined) this.#counts.delete(oldest);
    }
    return { count, fired: count >= this.#trigger };
  }

  get tracked(): number {
    return this.#counts.size;
  }
}
