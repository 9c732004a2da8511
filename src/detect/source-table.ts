/**
 * @module detect/source-table
 * Where the per-source state of packet evidence lives: a fixed-size table allocated at start, no
 * JS object per source. Set-associative with two choices: a source's address (four words,
 * net/address-words) hashes to two buckets of WAYS slots; a new source takes a free slot of the less
 * full one or replaces the slot of the two seen longest ago. The table only maps addresses to slot
 * numbers; what a slot holds is kept by the caller in typed arrays of `slots` entries
 * (detect/scan-scores).
 *
 * Why this shape: a Map keyed by address text cost a string, a Map entry and an object per source
 * (about 600 MiB RSS at 1,000,000 sources, and ~1 µs a lookup under a flood); here a lookup is a
 * hash and at most WAYS comparisons of four words. The hash is keyed by a random seed drawn at
 * start, so a forger cannot aim his sources at the buckets of a real scanner to push it out. The
 * cost of set-associativity: a source is replaced after about 2 x WAYS newer sources landed in its
 * buckets, not after `slots` newer sources overall; with the default 65,536 sources and a flood of
 * 200,000 new sources a second that is about 0.3 s of silence (a scanner probing faster than that
 * keeps its slot). One choice of 8 ways kept only 88 % of a million sources in a table sized for
 * them; two choices of 16 ways with 10 % slack keep 99.9 % (simulated, 1,000,000 random sources).
 */
import { randomBytes } from 'node:crypto';

/** Slots per bucket. */
export const WAYS = 16;
/** Slots beyond the capacity asked for: two choices of 16 ways keep 99.9 % of a full table's sources. */
const SLACK = 1.1;

export class SourceTable {
  /** Slots in all (a multiple of WAYS, at least the capacity asked for). */
  readonly slots: number;
  readonly #keys: Uint32Array;
  /** When each slot was last looked up, as the caller's 32-bit stamp; 0: free. */
  readonly #seen: Uint32Array;
  readonly #buckets: number;
  readonly #seed: number;
  readonly #seed2: number;
  #size = 0;
  /** Whether the last `lookup` gave its source a fresh slot (new, or replacing another source). */
  created = false;
  /** The stamp at which the last `lookup`'s source had been seen before (when not `created`). */
  previousSeen = 0;

  constructor(capacity: number) {
    this.#buckets = Math.max(2, Math.ceil((capacity * SLACK) / WAYS));
    this.slots = this.#buckets * WAYS;
    this.#keys = new Uint32Array(this.slots * 4);
    this.#seen = new Uint32Array(this.slots);
    const seeds = randomBytes(8);
    this.#seed = seeds.readUInt32LE(0);
    this.#seed2 = seeds.readUInt32LE(4);
  }

  /** Sources held. */
  get size(): number {
    return this.#size;
  }

  /** Bytes of the table itself (the caller's per-slot arrays come on top). */
  get bytes(): number {
    return this.#keys.byteLength + this.#seen.byteLength;
  }

  /**
   * The slot of the address in `words` at `stamp` (a 32-bit time stamp, never 0, that wraps
   * around: ages are taken modulo 2^32), making one if it has none (`created` says so; the caller
   * then resets the slot's state). A source may sit in either of two buckets: a new one goes to the
   * less full, and when both are full replaces the slot seen longest ago of the two.
   */
  lookup(words: Uint32Array, stamp: number): number {
    const w0 = words[0]!;
    const w1 = words[1]!;
    const w2 = words[2]!;
    const w3 = words[3]!;
    const h = hash(this.#seed, w0, w1, w2, w3);
    const first = bucketOf(h, this.#buckets) * WAYS;
    const second = bucketOf(fmix(h ^ this.#seed2), this.#buckets) * WAYS;
    const keys = this.#keys;
    const seen = this.#seen;
    // Slots are never freed, so the used ones of a bucket come first: the first free one ends it.
    let free = -1;
    let freeDepth = WAYS;
    let victim = first;
    let oldest = -1;
    for (let pass = 0; pass < 2; pass++) {
      const base = pass === 0 ? first : second;
      if (pass === 1 && base === first) break;
      for (let slot = base; slot < base + WAYS; slot++) {
        const at = seen[slot]!;
        if (at === 0) {
          if (slot - base < freeDepth) {
            free = slot;
            freeDepth = slot - base;
          }
          break;
        }
        const k = slot * 4;
        if (keys[k + 3] === w3 && keys[k + 2] === w2 && keys[k + 1] === w1 && keys[k] === w0) {
          this.previousSeen = at;
          seen[slot] = stamp;
          this.created = false;
          return slot;
        }
        const age = (stamp - at) >>> 0;
        if (age > oldest) {
          oldest = age;
          victim = slot;
        }
      }
    }
    if (free >= 0) {
      victim = free;
      this.#size++;
    }
    const k = victim * 4;
    keys[k] = w0;
    keys[k + 1] = w1;
    keys[k + 2] = w2;
    keys[k + 3] = w3;
    seen[victim] = stamp;
    this.created = true;
    return victim;
  }
}

/** The four words mixed, keyed by the seed (murmur3's multipliers and finaliser). */
function hash(seed: number, w0: number, w1: number, w2: number, w3: number): number {
  let h = seed;
  h = Math.imul(h ^ w0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ w1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ w2, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ w3, 0x85ebca6b);
  return fmix(h);
}

function fmix(value: number): number {
  let h = value ^ (value >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** `h` (32 bits) scaled to 0..buckets-1; exact while buckets < 2^21. */
function bucketOf(h: number, buckets: number): number {
  return Math.floor((h * buckets) / 4294967296);
}
