/**
 * @module detect/trigger
 * SCAN_TRIGGER for handshake and datagram evidence, with PortSentry 1.2's meaning: this hit plus
 * the hits already counted reach the trigger, so 0 and 1 fire on the first hit, 2 on the second
 * (1.2 kept these in one 50-slot ring shared by all hosts, which a flood washes out). Per source in
 * a bounded least-recently-used table, so memory stays fixed whatever the number of sources and a
 * flood of other sources cannot push out a source that is active now. Packet evidence, which a
 * forger can make at line rate, has its own fixed-size table (detect/scan-scores).
 */

export const DEFAULT_MAX_TRACKED_SOURCES = 65_536;

/**
 * A bounded table that forgets the least recently used entries, in O(1) per operation: two
 * generations of Maps; reads promote an entry into the young one, and when the young one is full the
 * old one is dropped whole. (Evicting from the front of one Map one key at a time is O(n) per
 * eviction in V8 once deletions pile up: 20x slower under a flood of new sources, measured.)
 * An entry used within the last capacity/2 insertions is always kept.
 */
export class LruTable<V> {
  #young = new Map<string, V>();
  #old = new Map<string, V>();
  readonly #half: number;

  constructor(capacity: number) {
    this.#half = Math.max(1, Math.floor(capacity / 2));
  }

  get(key: string): V | undefined {
    const young = this.#young.get(key);
    if (young !== undefined) return young;
    const old = this.#old.get(key);
    if (old !== undefined) {
      this.#old.delete(key);
      this.#insert(key, old);
    }
    return old;
  }

  set(key: string, value: V): void {
    if (this.#young.has(key)) this.#young.set(key, value);
    else {
      this.#old.delete(key);
      this.#insert(key, value);
    }
  }

  #insert(key: string, value: V): void {
    if (this.#young.size >= this.#half) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }

  get size(): number {
    return this.#young.size + this.#old.size;
  }
}

export class TriggerCounter {
  readonly #counts: LruTable<number>;
  readonly #trigger: number;

  constructor(trigger: number, capacity = DEFAULT_MAX_TRACKED_SOURCES) {
    this.#trigger = trigger;
    this.#counts = new LruTable(capacity);
  }

  get trigger(): number {
    return this.#trigger;
  }

  /** Counts one hit from `source`; returns the count so far and whether the trigger is reached. */
  hit(source: string): { count: number; fired: boolean } {
    if (this.#trigger <= 1) return { count: 1, fired: true };
    const count = (this.#counts.get(source) ?? 0) + 1;
    this.#counts.set(source, count);
    return { count, fired: count >= this.#trigger };
  }

  get tracked(): number {
    return this.#counts.size;
  }
}
