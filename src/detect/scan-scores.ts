/**
 * @module detect/scan-scores
 * Per-source state of packet evidence, in the fixed-size table of detect/source-table: the
 * source's hits (SCAN_TRIGGER), its score under the sequential test (detect/sequential-test), the
 * time of its last new-port probe, its probes in the background's current epoch, and the distinct
 * ports it touched within STEALTH_TRIGGER_WINDOW (a floor: nothing fires before that many). With
 * the fixed window (SCAN_DETECTOR="window") the score is not kept and the floor alone decides.
 *
 * Every field is a typed array of one entry per slot, allocated at start, packed because a flood
 * fills them all: with the default four remembered ports a slot costs 56 bytes, so the 1,050,000
 * slots of MAX_TRACKED_SOURCES=1000000 are 59 MB (89 MB before the packing, 600 MB as a Map of
 * objects). Times are 32-bit stamps of whole milliseconds that wrap; a remembered port's time is a
 * 16-bit stamp in units of at least 1 ms that keep the window within 8,192 units. A slot idle for
 * longer than the window forgets its ports before they are compared, so neither wrap is ever seen.
 */
import { Background, evidenceStep, type SequentialSettings } from './sequential-test.ts';
import { SourceTable } from './source-table.ts';

/** Distinct ports the sequential test remembers per source: the floor, but at least this many. */
const MIN_REMEMBERED = 4;
/** Stamps start this long before the first probe, so times a little out of order stay positive. */
const TIME_BASE_MARGIN_MS = 86_400_000;
/** The window spans at most this many port-time units. */
const WINDOW_UNITS = 8192;

export class ScanScores {
  readonly #table: SourceTable;
  readonly #floor: number;
  readonly #windowMs: number;
  readonly #trigger: number;
  readonly #remembered: number;
  /** Milliseconds per unit of a remembered port's time. */
  readonly #unitMs: number;
  /** Null with the fixed window. */
  readonly background: Background | null;
  readonly #score: Float32Array;
  readonly #lastNew: Float64Array;
  /** The background's epoch of the slot's last probe and last observation, modulo 2^16. */
  readonly #epoch: Uint16Array;
  readonly #observedEpoch: Uint16Array;
  /** Probes in that epoch, up to 255 (only 1 and 2 matter). */
  readonly #epochHits: Uint8Array;
  /** SCAN_TRIGGER's count, up to 65,535; kept only when the trigger is above 1. */
  readonly #hits: Uint16Array;
  readonly #candidate: Uint8Array;
  readonly #count: Uint8Array;
  /** #remembered per slot, oldest first: port | time stamp << 16. */
  readonly #ports: Uint32Array;
  /** One bit per remembered port: it is a UDP port. */
  readonly #udp: Uint8Array;
  readonly #udpBytes: number;
  #timeBase = NaN;
  #slot = 0;
  /** Of the last `hit`: the source's hits, distinct ports, score and the bar it had to pass. */
  hits = 0;
  distinct = 0;
  score = 0;
  threshold = 0;

  /**
   * `floorPorts`: STEALTH_TRIGGER_PORTS; `windowMs`: STEALTH_TRIGGER_WINDOW; `scanTrigger`:
   * SCAN_TRIGGER; `sequential`: the test's settings, or null for the fixed window.
   */
  constructor(
    floorPorts: number,
    windowMs: number,
    scanTrigger: number,
    sequential: SequentialSettings | null,
    capacity: number,
  ) {
    this.#floor = Math.max(1, floorPorts);
    this.#windowMs = windowMs;
    this.#trigger = scanTrigger;
    // The fixed window keeps exactly the floor's ports, as it always did.
    this.#remembered = sequential ? Math.max(MIN_REMEMBERED, this.#floor) : this.#floor;
    this.#unitMs = Math.max(1, Math.ceil(windowMs / WINDOW_UNITS));
    this.background = sequential ? new Background(sequential) : null;
    this.#table = new SourceTable(capacity);
    const n = this.#table.slots;
    this.#score = new Float32Array(n);
    this.#lastNew = new Float64Array(n);
    this.#epoch = new Uint16Array(sequential ? n : 0);
    this.#observedEpoch = new Uint16Array(sequential ? n : 0);
    this.#epochHits = new Uint8Array(sequential ? n : 0);
    this.#hits = new Uint16Array(scanTrigger > 1 ? n : 0);
    this.#candidate = new Uint8Array(n);
    this.#count = new Uint8Array(n);
    this.#ports = new Uint32Array(n * this.#remembered);
    this.#udpBytes = Math.ceil(this.#remembered / 8);
    this.#udp = new Uint8Array(n * this.#udpBytes);
  }

  get floorPorts(): number {
    return this.#floor;
  }

  get windowMs(): number {
    return this.#windowMs;
  }

  get scanTrigger(): number {
    return this.#trigger;
  }

  get tracked(): number {
    return this.#table.size;
  }

  get slots(): number {
    return this.#table.slots;
  }

  /** Bytes allocated for the table and its per-slot state. */
  get bytes(): number {
    const arrays = [this.#score, this.#lastNew, this.#epoch, this.#observedEpoch, this.#epochHits];
    const more = [this.#hits, this.#candidate, this.#count, this.#ports, this.#udp];
    return this.#table.bytes + [...arrays, ...more].reduce((sum, a) => sum + a.byteLength, 0);
  }

  /**
   * One probe of the address in `words` to `port` (UDP ports offset by 65536) at `time` (ms).
   * True if the source is now to be acted on; `hits`, `distinct`, `score` and `threshold` tell
   * the rest, `firedPorts()` which ports.
   */
  hit(words: Uint32Array, port: number, time: number): boolean {
    if (Number.isNaN(this.#timeBase)) this.#timeBase = Math.floor(time) - TIME_BASE_MARGIN_MS;
    const stamp = Math.floor(time - this.#timeBase) >>> 0 || 1;
    const table = this.#table;
    const slot = table.lookup(words, stamp);
    this.#slot = slot;
    const background = this.background;
    const epoch = background ? background.epochOf(time) & 0xffff : 0;
    let hits = 1;
    if (table.created) {
      this.#score[slot] = 0;
      this.#lastNew[slot] = time;
      this.#candidate[slot] = 0;
      this.#count[slot] = 0;
      this.#append(slot, port, time);
      if (this.#hits.length > 0) this.#hits[slot] = 1;
      if (background) {
        this.#epoch[slot] = epoch;
        this.#epochHits[slot] = 1;
        this.#observedEpoch[slot] = (epoch + 1) & 0xffff; // "not this epoch"
        background.probe(time, true, false);
      }
    } else {
      if (this.#hits.length > 0) {
        hits = Math.min(0xffff, this.#hits[slot]! + 1);
        this.#hits[slot] = hits;
      }
      if (background) {
        if (this.#epoch[slot] !== epoch) {
          this.#epoch[slot] = epoch;
          this.#epochHits[slot] = 0;
        }
        const epochHits = Math.min(0xff, this.#epochHits[slot]! + 1);
        this.#epochHits[slot] = epochHits;
        background.probe(time, epochHits === 1, epochHits === 2);
      }
      // Idle for longer than the window (or the clock stepped back by that much): nothing remembered counts.
      const idle = (stamp - table.previousSeen) | 0;
      if (idle > this.#windowMs || idle < -this.#windowMs) this.#count[slot] = 0;
      this.#touchPort(slot, port, time, epoch);
    }
    // SCAN_TRIGGER 0 and 1 fire on every hit, which then counts as the first (as TriggerCounter).
    this.hits = hits;
    const distinct = this.#count[slot]!;
    this.distinct = distinct;
    const triggered = this.#trigger <= 1 || hits >= this.#trigger;
    if (!background) {
      this.score = 0;
      this.threshold = 0;
      return triggered && distinct >= this.#floor;
    }
    const score = this.#score[slot]!;
    this.score = score;
    if (this.#candidate[slot] === 0 && distinct >= this.#floor && score >= background.baseThreshold) {
      this.#candidate[slot] = 1;
      background.candidate(time);
    }
    const threshold = background.threshold;
    this.threshold = threshold;
    return triggered && distinct >= this.#floor && score >= threshold;
  }

  /** The distinct ports of the last `hit`'s source, oldest first (UDP ones offset by 65536). */
  firedPorts(): number[] {
    const ports: number[] = [];
    for (let i = 0; i < this.#count[this.#slot]!; i++) ports.push(this.#portAt(this.#slot, i));
    return ports;
  }

  #portAt(slot: number, i: number): number {
    const udp = (this.#udp[slot * this.#udpBytes + (i >> 3)]! >> (i & 7)) & 1;
    return (this.#ports[slot * this.#remembered + i]! & 0xffff) + udp * 65536;
  }

  /** Remembered port `i`'s time stamp (16 bits of units). */
  #timeAt(slot: number, i: number): number {
    return this.#ports[slot * this.#remembered + i]! >>> 16;
  }

  #set(slot: number, i: number, port: number, unitStamp: number): void {
    this.#ports[slot * this.#remembered + i] = ((port & 0xffff) | (unitStamp << 16)) >>> 0;
    const byte = slot * this.#udpBytes + (i >> 3);
    const bit = 1 << (i & 7);
    this.#udp[byte] = port >= 65536 ? this.#udp[byte]! | bit : this.#udp[byte]! & ~bit;
  }

  /** Removes remembered ports [from, from + n) of the slot, keeping the order of the rest. */
  #remove(slot: number, from: number, n: number): void {
    const count = this.#count[slot]!;
    for (let i = from; i + n < count; i++)
      this.#set(slot, i, this.#portAt(slot, i + n), this.#timeAt(slot, i + n));
    this.#count[slot] = count - n;
  }

  #append(slot: number, port: number, time: number): void {
    let count = this.#count[slot]!;
    if (count === this.#remembered) {
      this.#remove(slot, 0, 1);
      count--;
    }
    this.#set(slot, count, port, this.#unitStamp(time));
    this.#count[slot] = count + 1;
  }

  #unitStamp(time: number): number {
    return Math.floor((time - this.#timeBase) / this.#unitMs) & 0xffff;
  }

  /** An existing source touched `port`: forget ports outside the window, then count it if new. */
  #touchPort(slot: number, port: number, time: number, epoch: number): void {
    const now = this.#unitStamp(time);
    const count = this.#count[slot]!;
    // Ports outside the window are forgotten first (oldest first). They are all within twice the
    // window of now (see the idle check), so the 16-bit difference is exact; a small negative one
    // (packets a little out of order) is a port just seen.
    let drop = 0;
    while (drop < count) {
      const age = ((now - this.#timeAt(slot, drop) + 0x8000) & 0xffff) - 0x8000;
      if (age * this.#unitMs <= this.#windowMs) break;
      drop++;
    }
    if (drop > 0) this.#remove(slot, 0, drop);
    for (let i = 0; i < this.#count[slot]!; i++) {
      if (this.#portAt(slot, i) === port) {
        // A repeat (a retransmission, or background hitting the same port): no observation; it
        // moves to the newest place.
        this.#remove(slot, i, 1);
        this.#append(slot, port, time);
        return;
      }
    }
    const background = this.background;
    if (background) {
      if (this.#observedEpoch[slot] !== epoch) {
        this.#observedEpoch[slot] = epoch;
        background.observation();
      }
      const step = evidenceStep(time - this.#lastNew[slot]!, background.rate);
      this.#score[slot] = Math.max(this.#score[slot]!, 0) + step;
    }
    this.#lastNew[slot] = time;
    this.#append(slot, port, time);
  }
}
