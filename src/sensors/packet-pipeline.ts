/**
 * @module sensors/packet-pipeline
 * One captured packet's way through portsnare: decode, keep what is a probe of a watched mode, hand
 * the probe on. Every packet is counted as decoded, malformed (by reason) or skipped (by reason), so
 * nothing disappears unexplained. Shared by the live capture and `portsnare replay`. One decoded
 * packet and one probe are refilled for every packet (the probe is valid only during `onProbe`):
 * nothing is allocated for a packet that is dropped, skipped or below the trigger.
 */
import {
  PacketProbe,
  packetProbeOf,
  type PacketContext,
  type SkipReason,
  type WatchPlan,
} from '../detect/packet-probe.ts';
import { decodeInto, PacketFields, type DropReason } from '../packets/decode.ts';
import type { LogMessage } from '../report/messages.ts';

export interface PipelineCounters {
  packets: number;
  probes: number;
  malformed: Partial<Record<DropReason, number>>;
  skipped: Partial<Record<SkipReason, number>>;
}

/** 1.2 logged every illegal header; we log the first few per minute and count the rest. */
const ILLEGAL_HEADER_LOGS_PER_MINUTE = 20;

export class PacketPipeline {
  plan: WatchPlan;
  readonly counters: PipelineCounters = { packets: 0, probes: 0, malformed: {}, skipped: {} };
  readonly #ctx: PacketContext;
  readonly #onProbe: (probe: PacketProbe) => void;
  readonly #fields = new PacketFields();
  readonly #probe = new PacketProbe(this.#fields);
  readonly #log: (message: LogMessage) => void;
  #illegalLogged = 0;
  #illegalWindowStart = 0;

  constructor(
    plan: WatchPlan,
    ctx: PacketContext,
    onProbe: (probe: PacketProbe) => void,
    log: (message: LogMessage) => void,
  ) {
    this.plan = plan;
    this.#ctx = ctx;
    this.#onProbe = onProbe;
    this.#log = log;
  }

  /** `timeMs`: the packet's capture time in milliseconds since the epoch. */
  handle(linkType: number, data: Uint8Array, timeMs: number): void {
    this.counters.packets++;
    const failure = decodeInto(linkType, data, this.#fields);
    if (failure !== null) {
      this.counters.malformed[failure.reason] = (this.counters.malformed[failure.reason] ?? 0) + 1;
      if (failure.reason === 'illegal-ip-header-length' && failure.source && failure.ihl !== undefined) {
        this.#logIllegal(failure.protocol ?? 'tcp', failure.ihl, failure.source, timeMs);
      }
      return;
    }
    const skip = packetProbeOf(this.plan, this.#ctx, timeMs, this.#probe);
    if (skip !== null) {
      this.counters.skipped[skip] = (this.counters.skipped[skip] ?? 0) + 1;
      return;
    }
    this.counters.probes++;
    this.#onProbe(this.#probe);
  }

  get malformedTotal(): number {
    let total = 0;
    for (const n of Object.values(this.counters.malformed)) total += n ?? 0;
    return total;
  }

  #logIllegal(protocol: 'tcp' | 'udp', ihl: number, address: string, timeMs: number): void {
    if (timeMs - this.#illegalWindowStart > 60_000) {
      this.#illegalWindowStart = timeMs;
      this.#illegalLogged = 0;
    }
    if (this.#illegalLogged++ < ILLEGAL_HEADER_LOGS_PER_MINUTE) {
      this.#log({ kind: 'illegalHeaderLength', protocol, ihl, address });
    }
  }
}
