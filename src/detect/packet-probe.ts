/**
 * @module detect/packet-probe
 * From a decoded packet to a probe event, for the stealth (`-stcp`/`-sudp`) and advanced
 * (`-atcp`/`-audp`) modes: only packets to one of this host's addresses, to a watched port, that are
 * not part of a conversation (ACK or RST set) and that no service on this host would answer count.
 * Pure: the host's addresses and the socket table come in as functions; the daemon and `replay` share it.
 * Numeric throughout (addresses as words), so a packet that is no probe costs no allocation.
 */
import { addressText, wordsOfCanonical } from '../net/address-words.ts';
import { PacketFields, type DecodedPacket } from '../packets/decode.ts';
import { classifyTcpFlags } from './classify.ts';
import type { Mode, ProbeEvent, Protocol } from './probe.ts';

/** What one packet mode watches. */
export interface ProtocolWatch {
  mode: Mode;
  /** Stealth modes: the listed ports (less those in use at start). Null in advanced modes. */
  ports: ReadonlySet<number> | null;
  /** Advanced modes: every port below this... */
  below: number;
  /** ...except these (ADVANCED_EXCLUDE_*). */
  exclude: ReadonlySet<number>;
}

export interface WatchPlan {
  tcp: ProtocolWatch | null;
  udp: ProtocolWatch | null;
}

export function watchesPort(watch: ProtocolWatch, port: number): boolean {
  if (watch.ports) return watch.ports.has(port);
  return port < watch.below && !watch.exclude.has(port);
}

/** The host as the packet path asks about it; addresses as words (net/address-words). */
export interface PacketContext {
  /** Is this one of the host's own addresses (the packet is for us)? */
  isLocal(destination: Uint32Array): boolean;
  /** Is a service listening (TCP) or bound (UDP) for this destination and port right now? */
  isServed(protocol: Protocol, destination: Uint32Array, port: number): boolean;
}

export type SkipReason = 'not-local' | 'not-watched' | 'conversation' | 'served';

/**
 * A probe seen by the capture, in the packet path's numeric form: one object, refilled for every
 * packet, so that a flood builds no event. `toEvent` makes the ProbeEvent when one is needed (an
 * alert, a refusal, a diagnostics subscriber); `fields` is the decoder's scratch, valid until the
 * next packet.
 */
export class PacketProbe {
  mode: Mode = 'stcp';
  time = 0;
  label: string | undefined = undefined;

  constructor(readonly fields: PacketFields) {}

  toEvent(): ProbeEvent {
    const f = this.fields;
    return {
      mode: this.mode,
      protocol: f.protocol,
      evidence: 'packet',
      source: addressText(f.source),
      port: f.destinationPort,
      destination: addressText(f.destination),
      time: this.time,
      ...(this.label !== undefined ? { label: this.label } : {}),
      ...(f.ipOptions ? { ipOptions: true } : {}),
    };
  }
}

/**
 * Is the decoded packet in `probe.fields` a probe? Null if so (and `probe` is filled: mode, time,
 * label), else why not.
 */
export function packetProbeOf(
  plan: WatchPlan,
  ctx: PacketContext,
  time: number,
  probe: PacketProbe,
): SkipReason | null {
  const packet = probe.fields;
  if (!ctx.isLocal(packet.destination)) return 'not-local';
  const watch = packet.protocol === 'tcp' ? plan.tcp : plan.udp;
  if (!watch || !watchesPort(watch, packet.destinationPort)) return 'not-watched';
  let label: string | undefined;
  if (packet.protocol === 'tcp') {
    const judged = classifyTcpFlags(packet.tcpFlags);
    if (!judged.hit) return 'conversation';
    label = judged.label;
  }
  // Checked last: it may re-read the kernel's socket table.
  if (ctx.isServed(packet.protocol, packet.destination, packet.destinationPort)) return 'served';
  probe.mode = watch.mode;
  probe.time = time;
  probe.label = label;
  return null;
}

export type PacketVerdict = { kind: 'probe'; event: ProbeEvent } | { kind: 'skip'; reason: SkipReason };

/** `packetProbeOf` for a packet with text addresses, answered with a ProbeEvent (tests, tools). */
export function probeFromPacket(
  packet: DecodedPacket,
  plan: WatchPlan,
  ctx: PacketContext,
  time: number,
): PacketVerdict {
  const fields = new PacketFields();
  fields.family = packet.family;
  wordsOfCanonical(packet.source, fields.source);
  wordsOfCanonical(packet.destination, fields.destination);
  fields.protocol = packet.protocol;
  fields.sourcePort = packet.sourcePort;
  fields.destinationPort = packet.destinationPort;
  fields.tcpFlags = packet.tcpFlags;
  fields.ipOptions = packet.ipOptions;
  const probe = new PacketProbe(fields);
  const skip = packetProbeOf(plan, ctx, time, probe);
  return skip === null ? { kind: 'probe', event: probe.toEvent() } : { kind: 'skip', reason: skip };
}
