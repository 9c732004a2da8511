/**
 * @module detect/detector
 * The pure detection core: judges one probe event against the never-act-on lists and the triggers.
 * No I/O and no clock of its own (events carry their time); the daemon and `replay` feed it alike.
 */
import { ChannelNames, TypedChannel } from '../diagnostics.ts';
import type { CidrSet } from '../net/cidr-set.ts';
import type { ProbeEvent } from './probe.ts';
import { addressText, wordsOfCanonical } from '../net/address-words.ts';
import type { PacketProbe } from './packet-probe.ts';
import { ScanScores } from './scan-scores.ts';
import { DEFAULT_SEQUENTIAL, type BackgroundState, type SequentialSettings } from './sequential-test.ts';
import { DEFAULT_MAX_TRACKED_SOURCES, TriggerCounter } from './trigger.ts';

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

const IGNORED: Record<IgnoreReason, Verdict> = {
  'ignore-list': Object.freeze({ kind: 'ignored', reason: 'ignore-list' }),
  'own-address': Object.freeze({ kind: 'ignored', reason: 'own-address' }),
  'not-a-peer': Object.freeze({ kind: 'ignored', reason: 'not-a-peer' }),
};
const REFUSED: Record<IgnoreReason, Verdict> = {
  'ignore-list': Object.freeze({ kind: 'refused', reason: 'ignore-list' }),
  'own-address': Object.freeze({ kind: 'refused', reason: 'own-address' }),
  'not-a-peer': Object.freeze({ kind: 'refused', reason: 'not-a-peer' }),
};

export class Detector {
  #lists: DetectorLists;
  /** SCAN_TRIGGER for handshake and datagram evidence. */
  #trigger: TriggerCounter;
  /** Everything about packet evidence, per source, in a fixed-size table. */
  #scores: ScanScores;
  #triggers: TriggerSettings;
  readonly #capacity: number;
  /** Scratch for the words of a ProbeEvent's source. */
  readonly #words = new Uint32Array(4);

  constructor(lists: DetectorLists, triggers: TriggerSettings) {
    this.#lists = lists;
    this.#capacity = triggers.maxTrackedSources ?? DEFAULT_MAX_TRACKED_SOURCES;
    this.#triggers = triggers;
    this.#trigger = new TriggerCounter(triggers.scanTrigger, this.#capacity);
    this.#scores = this.#newScores(triggers);
  }

  #newScores(triggers: TriggerSettings): ScanScores {
    return new ScanScores(
      triggers.stealthPorts,
      triggers.stealthWindowMs,
      triggers.scanTrigger,
      sequentialOf(triggers) ? (triggers.sequential ?? DEFAULT_SEQUENTIAL) : null,
      this.#capacity,
    );
  }

  /** The sequential test's view of the background (null with the fixed window). */
  background(): BackgroundState | null {
    return this.#scores.background?.state() ?? null;
  }

  /** Sources whose packet evidence is held, and the slots and bytes of the table that holds them. */
  table(): { tracked: number; slots: number; bytes: number } {
    const scores = this.#scores;
    return { tracked: scores.tracked, slots: scores.slots, bytes: scores.bytes };
  }

  /** Swaps the lists (SIGHUP); a changed trigger starts counting afresh. */
  reconfigure(lists: DetectorLists, triggers: TriggerSettings): void {
    this.#lists = lists;
    if (triggers.scanTrigger !== this.#trigger.trigger) {
      this.#trigger = new TriggerCounter(triggers.scanTrigger, this.#capacity);
    }
    const old = this.#triggers;
    const sequential = sequentialOf(triggers);
    if (
      triggers.scanTrigger !== old.scanTrigger ||
      triggers.stealthPorts !== old.stealthPorts ||
      triggers.stealthWindowMs !== old.stealthWindowMs ||
      sequential !== sequentialOf(old) ||
      (sequential &&
        !sameSequential(triggers.sequential ?? DEFAULT_SEQUENTIAL, old.sequential ?? DEFAULT_SEQUENTIAL))
    ) {
      this.#scores = this.#newScores(triggers);
    }
    this.#triggers = triggers;
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
    let verdict: Verdict;
    if (event.evidence === 'packet' && wordsOfCanonical(event.source, this.#words)) {
      const port = event.protocol === 'udp' ? event.port + 65536 : event.port;
      verdict = this.#judgeWords(this.#words, port, event.time, event.source) ?? this.#belowTrigger();
    } else {
      verdict = this.#judgeCounted(event);
    }
    probeChannel.publish({ event, verdict });
    return verdict;
  }

  /**
   * The packet path's judge: the same verdicts as `judge`, from a probe in numeric form, with no
   * allocation for a source below the trigger (null) or listed (a shared verdict). The event is
   * made only for a subscriber of `portsnare:probe`.
   */
  judgePacket(probe: PacketProbe): Verdict | null {
    const f = probe.fields;
    const port = f.protocol === 'udp' ? f.destinationPort + 65536 : f.destinationPort;
    const verdict = this.#judgeWords(f.source, port, probe.time, null);
    if (probeChannel.hasSubscribers) {
      probeChannel.publish({ event: probe.toEvent(), verdict: verdict ?? this.#belowTrigger() });
    }
    return verdict;
  }

  #belowTrigger(): Verdict {
    const scores = this.#scores;
    return { kind: 'below-trigger', count: scores.hits, distinctPorts: scores.distinct };
  }

  /** Packet evidence of the source in `words`; null: below the trigger. */
  #judgeWords(words: Uint32Array, port: number, time: number, text: string | null): Verdict | null {
    const lists = this.#lists;
    const never: IgnoreReason | null = lists.own.hasWords(words)
      ? 'own-address'
      : lists.ignore.hasWords(words)
        ? 'ignore-list'
        : null;
    const scores = this.#scores;
    const fired = scores.hit(words, port, time);
    if (never !== null) return fired ? REFUSED[never] : IGNORED[never];
    if (!fired) return null;
    if (lists.notAPeer?.(text ?? addressText(words))) return REFUSED['not-a-peer'];
    const ports = scores.firedPorts().map((p) => p % 65536);
    return scores.background
      ? {
          kind: 'alert',
          count: scores.hits,
          ports,
          score: { value: scores.score, threshold: scores.threshold },
        }
      : { kind: 'alert', count: scores.hits, ports };
  }

  /** Handshake and datagram evidence: SCAN_TRIGGER as in 1.2. */
  #judgeCounted(event: ProbeEvent): Verdict {
    const never = this.#listedCheap(event.source);
    const { count, fired } = this.#trigger.hit(event.source);
    if (never !== null) return fired ? REFUSED[never] : IGNORED[never];
    if (!fired) return { kind: 'below-trigger', count, distinctPorts: 1 };
    if (this.#lists.notAPeer?.(event.source)) return REFUSED['not-a-peer'];
    return { kind: 'alert', count };
  }
}
