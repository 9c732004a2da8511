/**
 * @module detect/packet-probe
 * From a decoded packet to a probe event, for the stealth (`-stcp`/`-sudp`) and advanced
 * (`-atcp`/`-audp`) modes: only packets to one of this host's addresses, to a watched port, that are
 * not part of a conversation (ACK or RST set) and that no service on this host would answer count.
 * Pure: the host's addresses and the socket table come in as functions; the daemon and `replay` share it.
 */
import type { DecodedPacket } from '../packets/decode.ts';
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

export interface PacketContext {
  /** Is this one of the host's own addresses (the packet is for us)? */
  isLocal(address: string): boolean;
  /** Is a service listening (TCP) or bound (UDP) for this destination and port right now? */
  isServed(protocol: Protocol, destination: string, port: number): boolean;
}

export type SkipReason = 'not-local' | 'not-watched' | 'conversation' | 'served';

export type PacketVerdict = { kind: 'probe'; event: ProbeEvent } | { kind: 'skip'; reason: SkipReason };

export function probeFromPacket(
  packet: DecodedPacket,
  plan: WatchPlan,
  ctx: PacketContext,
  time: number,
): PacketVerdict {
  if (!ctx.isLocal(packet.destination)) return { kind: 'skip', reason: 'not-local' };
  const watch = packet.protocol === 'tcp' ? plan.tcp : plan.udp;
  if (!watch || !watchesPort(watch, packet.destinationPort)) return { kind: 'skip', reason: 'not-watched' };
  let label: string | undefined;
  if (packet.protocol === 'tcp') {
    const judged = classifyTcpFlags(packet.tcpFlags);
    if (!judged.hit) return { kind: 'skip', reason: 'conversation' };
    label = judged.label;
  }
  // Checked last: it may re-read the kernel's socket table.
  if (ctx.isServed(packet.protocol, packet.destination, packet.destinationPort))
    return { kind: 'skip', reason: 'served' };
  return {
    kind: 'probe',
    event: {
      mode: watch.mode,
      protocol: packet.protocol,
      evidence: 'packet',
      source: packet.source,
      port: packet.destinationPort,
      destination: packet.destination,
      time,
      ...(label !== undefined ? { label } : {}),
      ...(packet.ipOptions ? { ipOptions: true } : {}),
    },
  };
}
