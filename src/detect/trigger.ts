/**
 * @module detect/trigger
 * When a source has done enough to be acted on. Two counters, both per source in bounded
 * least-recently-used tables, so memory stays fixed whatever the number of sources and a flood of
 * other sources cannot push out a source that is active now:
 * - SCAN_TRIGGER with PortSentry 1.2's meaning: this hit plus the hits already counted reach the
 *   trigger, so 0 and 1 fire on the first hit, 2 on the second (1.2 kept these in one 50-slot ring
 *   shared by all hosts, which a flood washes out).
 * - Distinct ports within a window, for evidence a forged packet can fake (stealth probes): a
 *   spoofed packet touches one port, a scanner touches many.
 */

export const DEFAULT_MAX_TRACKED_SOURCES = 65_536;

/** A Map used as an LRU: re-inserting moves a key to the end; the first key is the oldest. */
class LruTable<V> {
  readonly #map = new Map<string, V>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  get(key: string): V | undefined {
    return this.#map.get(key);
  }

  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#capacity) {
      const oldest = this.#map.keys().next().value;
      if (oldest !== undefined) this.#map.delete(oldest);
    }
  }

  get size(): number {
    return this.#map.size;
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

interface PortSighting {
  port: number;
  time: number;
}

export class DistinctPortCounter {
  readonly #seen: LruTable<PortSighting[]>;
  readonly #ports: number;
  readonly #windowMs: number;

  constructor(ports: number, windowMs: number, capacity = DEFAULT_MAX_TRACKED_SOURCES) {
    this.#ports = Math.max(1, ports);
    this.#windowMs = windowMs;
    this.#seen = new LruTable(capacity);
  }

  get ports(): number {
    return this.#ports;
  }

  get windowMs(): number {
    return this.#windowMs;
  }

  /** Records a probe; fires once `ports` distinct ports were touched within the window. O(ports). */
  hit(source: string, port: number, time: number): { distinct: number; fired: boolean } {
    if (this.#ports <= 1) return { distinct: 1, fired: true };
    const recent = (this.#seen.get(source) ?? []).filter((s) => time - s.time <= this.#windowMs);
    const same = recent.find((s) => s.port === port);
    if (same) same.time = time;
    else recent.push({ port, time });
    if (recent.length > this.#ports) recent.shift();
    this.#seen.set(source, recent);
    return { distinct: recent.length, fired: recent.length >= this.#ports };
  }

  get tracked(): number {
    return this.#seen.size;
  }
}
