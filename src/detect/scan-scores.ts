/**
 * @module detect/scan-scores
 * Per-source state of the sequential test (detect/sequential-test) for packet evidence: the
 * source's score, the time of its last new-port probe, the distinct ports it touched within
 * STEALTH_TRIGGER_WINDOW (a floor: the test fires only once that many were touched) and its
 * probes in the background's current epoch. Kept in the same bounded least-recently-used table as
 * the other counters, so a flood of new sources cannot push out one that is active now.
 */
import { Background, evidenceStep, type SequentialSettings } from './sequential-test.ts';
import { DEFAULT_MAX_TRACKED_SOURCES, LruTable } from './trigger.ts';

interface SourceScore {
  score: number;
  lastNew: number;
  epoch: number;
  epochHits: number;
  /** The epoch of its last observation (the bar counts a source once per epoch). */
  observedEpoch: number;
  /** Its score crossed the background's bar once already (counted as a candidate). */
  candidate: boolean;
  ports: number[];
  times: number[];
}

/** Distinct ports remembered per source: enough for any floor up to 16, and bounded. */
const REMEMBERED_PORTS = 16;

export interface ScoreResult {
  fired: boolean;
  /** The source's score (ln of its e-process) after this probe. */
  score: number;
  /** The score it needed. */
  threshold: number;
  distinct: number;
  /** Distinct ports within the window, when it fired. */
  ports?: number[];
}

export class ScanScores {
  readonly #table: LruTable<SourceScore>;
  readonly #floor: number;
  readonly #windowMs: number;
  readonly background: Background;

  constructor(
    floorPorts: number,
    windowMs: number,
    settings: SequentialSettings,
    capacity = DEFAULT_MAX_TRACKED_SOURCES,
  ) {
    this.#floor = Math.max(1, floorPorts);
    this.#windowMs = windowMs;
    this.#table = new LruTable(capacity);
    this.background = new Background(settings);
  }

  get floorPorts(): number {
    return this.#floor;
  }

  get windowMs(): number {
    return this.#windowMs;
  }

  get tracked(): number {
    return this.#table.size;
  }

  /** One probe of `source` to `port` (UDP ports offset by 65536) at `time` (ms). */
  hit(source: string, port: number, time: number): ScoreResult {
    const background = this.background;
    const epoch = background.epochOf(time);
    let s = this.#table.get(source);
    if (!s) {
      s = {
        score: 0,
        lastNew: time,
        epoch,
        epochHits: 1,
        observedEpoch: -1,
        candidate: false,
        ports: [port],
        times: [time],
      };
      this.#table.set(source, s);
      background.probe(time, true, false);
      return { fired: false, score: 0, threshold: background.threshold, distinct: 1 };
    }
    if (s.epoch !== epoch) {
      s.epoch = epoch;
      s.epochHits = 0;
    }
    s.epochHits++;
    background.probe(time, s.epochHits === 1, s.epochHits === 2);
    // Ports outside the window are forgotten first.
    while (s.times.length > 0 && time - (s.times[0] ?? 0) > this.#windowMs) {
      s.times.shift();
      s.ports.shift();
    }
    const known = s.ports.indexOf(port);
    if (known >= 0) {
      // A repeat (a retransmission, or background hitting the same port): no observation.
      s.ports.splice(known, 1);
      s.times.splice(known, 1);
      s.ports.push(port);
      s.times.push(time);
    } else {
      if (s.observedEpoch !== epoch) {
        s.observedEpoch = epoch;
        background.observation();
      }
      const step = evidenceStep(time - s.lastNew, background.rate);
      s.score = Math.max(s.score, 0) + step;
      s.lastNew = time;
      s.ports.push(port);
      s.times.push(time);
      if (s.ports.length > REMEMBERED_PORTS) {
        s.ports.shift();
        s.times.shift();
      }
    }
    const distinct = s.ports.length;
    if (!s.candidate && distinct >= this.#floor && s.score >= background.baseThreshold) {
      s.candidate = true;
      background.candidate(time);
    }
    const threshold = background.threshold;
    if (distinct < this.#floor || s.score < threshold) {
      return { fired: false, score: s.score, threshold, distinct };
    }
    return { fired: true, score: s.score, threshold, distinct, ports: [...s.ports] };
  }
}
