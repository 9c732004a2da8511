/**
 * @module sensors/packet-pipeline
 * One captured packet's way through portsnare: decode, keep what is a probe of a watched mode, hand
 * the probe on. Every packet is counted as decoded, malformed (by reason) or skipped (by reason), so
 * nothing disappears unexplained. Shared by the live capture and `portsnare replay`.
 */
import {
  probeFromPacket,
  type PacketContext,
  type SkipReason,
  type WatchPlan,
} from '../detect/packet-probe.ts';
import type { ProbeEvent } from '../detect/probe.ts';
import { decodePacket, type DropReason } from '../packets/decode.ts';
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
  readonly #onProbe: (event: ProbeEvent) => void;
  readonly #log: (message: LogMessage) => void;
  #illegalLogged = 0;
  #illegalWindowStart = 0;

  constructor(
    plan: WatchPlan,
    ctx: PacketContext,
    onProbe: (event: ProbeEvent) => void,
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
    const decoded = decodePacket(linkType, data);
    if (!decoded.ok) {
      this.counters.malformed[decoded.reason] = (this.counters.malformed[decoded.reason] ?? 0) + 1;
      if (decoded.reason === 'illegal-ip-header-length' && decoded.source && decoded.ihl !== undefined) {
        this.#logIllegal(decoded.protocol ?? 'tcp', decoded.ihl, decoded.source, timeMs);
      }
      return;
    }
    const verdict = probeFromPacket(decoded.packet, this.plan, this.#ctx, timeMs);
    if (verdict.kind === 'skip') {
      this.counters.skipped[verdict.reason] = (this.counters.skipped[verdict.reason] ?? 0) + 1;
      return;
    }
    this.counters.probes++;
    this.#onProbe(verdict.event);
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
