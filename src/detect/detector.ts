/**
 * @module detect/detector
 * The pure detection core: judges one probe event against the never-act-on lists and the triggers.
 * No I/O and no clock of its own (events carry their time); the daemon and `replay` feed it alike.
 */
import { ChannelNames, TypedChannel } from '../diagnostics.ts';
import type { CidrSet } from '../net/cidr-set.ts';
import type { ProbeEvent } from './probe.ts';
import { ScanScores } from './scan-scores.ts';
import { DEFAULT_SEQUENTIAL, type BackgroundState, type SequentialSettings } from './sequential-test.ts';
import { DistinctPortCounter, TriggerCounter } from './trigger.ts';

/** `not-a-peer`: broadcast, multicast, unspecified, reserved, link-local... (see net/unicast). */
export type IgnoreReason = 'ignore-list' | 'own-address' | 'not-a-peer';

/**
 * `ignored`: a never-act-on source below the trigger; `refused`: one that reached it, so it would
 * have been blocked (the daemon says so, rate-limited); `alert`: act on it.
 */
export type Verdict =
  | { kind: 'ignored'; reason: IgnoreReason }
  | { kind: 'refused'; reason: IgnoreReason }
  | { kind: 'below-trigger'; count: number; distinctPorts: number }
  | {
      kind: 'alert';
      count: number;
      /** Packet evidence: the distinct ports that made it fire (UDP ones as plain port numbers). */
      ports?: number[];
      /** Packet evidence under the sequential test: the source's score and the bar it passed. */
      score?: { value: number; threshold: number };
    };

/**
 * SCAN_DETECTOR: how packet evidence is judged. `sequential`: the sequential test against the
 * measured background (detect/sequential-test), with STEALTH_TRIGGER_PORTS within
 * STEALTH_TRIGGER_WINDOW as a floor; `window`: that fixed window alone (portsnare before part 5).
 */
export type ScanDetector = 'sequential' | 'window';

export interface DetectorLists {
  /** Entries of the ignore file. */
  ignore: CidrSet;
  /** The host's own addresses, loopback, its default gateways and resolvers. */
  own: CidrSet;
  /**
   * True for a source that cannot be a real peer (broadcast, multicast, reserved...): only forged
   * packets carry it. Asked only when a source reaches the trigger, so floods do not pay for it.
   */
  notAPeer?: (address: string) => boolean;
}

export interface TriggerSettings {
  /** SCAN_TRIGGER, 1.2's meaning. */
  scanTrigger: number;
  /** STEALTH_TRIGGER_PORTS: distinct ports packet evidence must touch before it counts. */
  stealthPorts: number;
  /** STEALTH_TRIGGER_WINDOW in milliseconds. */
  stealthWindowMs: number;
  maxTrackedSources?: number;
  /** Default `sequential`; STEALTH_TRIGGER_PORTS=1 (1.2's first probe) always means the window. */
  scanDetector?: ScanDetector;
  sequential?: SequentialSettings;
}

function sequentialOf(triggers: TriggerSettings): boolean {
  return (triggers.scanDetector ?? 'sequential') === 'sequential' && triggers.stealthPorts > 1;
}

function sameSequential(a: SequentialSettings, b: SequentialSettings): boolean {
  return (
    a.falseAlarmsPerMinute === b.falseAlarmsPerMinute &&
    a.idleRatePerSecond === b.idleRatePerSecond &&
    a.idleThreshold === b.idleThreshold &&
    a.budgetPerMinute === b.budgetPerMinute
  );
}

/** What the detector publishes on `portsnare:probe` for every probe it judged. */
export interface ProbeJudged {
  event: ProbeEvent;
  verdict: Verdict;
}

export const probeChannel = new TypedChannel<ProbeJudged>(ChannelNames.probe);

export class Detector {
  #lists: DetectorLists;
  #trigger: TriggerCounter;
  #distinct: DistinctPortCounter;
  #scores: ScanScores | null;
  #sequential: SequentialSettings;
  readonly #capacity: number | undefined;

  constructor(lists: DetectorLists, triggers: TriggerSettings) {
    this.#lists = lists;
    this.#capacity = triggers.maxTrackedSources;
    this.#trigger = new TriggerCounter(triggers.scanTrigger, triggers.maxTrackedSources);
    this.#distinct = new DistinctPortCounter(
      triggers.stealthPorts,
      triggers.stealthWindowMs,
      triggers.maxTrackedSources,
    );
    this.#sequential = triggers.sequential ?? DEFAULT_SEQUENTIAL;
    this.#scores = this.#newScores(triggers);
  }

  #newScores(triggers: TriggerSettings): ScanScores | null {
    if (!sequentialOf(triggers)) return null;
    return new ScanScores(triggers.stealthPorts, triggers.stealthWindowMs, this.#sequential, this.#capacity);
  }

  /** The sequential test's view of the background (null with the fixed window). */
  background(): BackgroundState | null {
    return this.#scores?.background.state() ?? null;
  }

  /** Swaps the lists (SIGHUP); a changed trigger starts counting afresh. */
  reconfigure(lists: DetectorLists, triggers: TriggerSettings): void {
    this.#lists = lists;
    if (triggers.scanTrigger !== this.#trigger.trigger) {
      this.#trigger = new TriggerCounter(triggers.scanTrigger, this.#capacity);
    }
    if (
      triggers.stealthPorts !== this.#distinct.ports ||
      triggers.stealthWindowMs !== this.#distinct.windowMs
    ) {
      this.#distinct = new DistinctPortCounter(
        triggers.stealthPorts,
        triggers.stealthWindowMs,
        this.#capacity,
      );
    }
    const sequential = triggers.sequential ?? DEFAULT_SEQUENTIAL;
    const scores = this.#scores;
    if (
      sequentialOf(triggers) !== (scores !== null) ||
      (scores &&
        (scores.floorPorts !== triggers.stealthPorts ||
          scores.windowMs !== triggers.stealthWindowMs ||
          !sameSequential(sequential, this.#sequential)))
    ) {
      this.#sequential = sequential;
      this.#scores = this.#newScores(triggers);
    }
  }

  /** Whether an address is on a never-act-on list, and which. */
  listed(address: string): IgnoreReason | null {
    return this.#listedCheap(address) ?? (this.#lists.notAPeer?.(address) ? 'not-a-peer' : null);
  }

  #listedCheap(address: string): IgnoreReason | null {
    if (this.#lists.own.has(address)) return 'own-address';
    if (this.#lists.ignore.has(address)) return 'ignore-list';
    return null;
  }

  judge(event: ProbeEvent): Verdict {
    const verdict = this.#judge(event);
    probeChannel.publish({ event, verdict });
    return verdict;
  }

  #judge(event: ProbeEvent): Verdict {
    const never = this.#listedCheap(event.source);
    const counted = this.#count(event);
    if (never !== null) return { kind: counted.kind === 'alert' ? 'refused' : 'ignored', reason: never };
    if (counted.kind === 'alert' && this.#lists.notAPeer?.(event.source)) {
      return { kind: 'refused', reason: 'not-a-peer' };
    }
    return counted;
  }

  #count(event: ProbeEvent): Verdict {
    // Packet evidence (a source anyone can forge) must touch STEALTH_TRIGGER_PORTS distinct ports; a
    // handshake or a datagram counts as in 1.2 (classic UDP keeps its first-datagram trigger).
    if (event.evidence === 'packet' && this.#scores) return this.#score(event, this.#scores);
    const distinct =
      event.evidence === 'packet'
        ? this.#distinct.hit(
            event.source,
            event.protocol === 'udp' ? event.port + 65536 : event.port,
            event.time,
          )
        : { distinct: 1, fired: true };
    const { count, fired } = this.#trigger.hit(event.source);
    if (!fired || !distinct.fired) return { kind: 'below-trigger', count, distinctPorts: distinct.distinct };
    return distinct.ports
      ? { kind: 'alert', count, ports: distinct.ports.map((p) => p % 65536) }
      : { kind: 'alert', count };
  }

  #score(event: ProbeEvent, scores: ScanScores): Verdict {
    const port = event.protocol === 'udp' ? event.port + 65536 : event.port;
    const result = scores.hit(event.source, port, event.time);
    const { count, fired } = this.#trigger.hit(event.source);
    if (!fired || !result.fired) return { kind: 'below-trigger', count, distinctPorts: result.distinct };
    return {
      kind: 'alert',
      count,
      ports: (result.ports ?? []).map((p) => p % 65536),
      score: { value: result.score, threshold: result.threshold },
    };
  }
}
