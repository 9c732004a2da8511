/**
 * @module detect/classify
 * PortSentry 1.2's reading of a TCP probe's flags (reference §2.8): ACK or RST means the packet
 * belongs to a conversation and is no hit; otherwise NULL, XMAS, FIN, SYN or "Unknown Type" with
 * the flags spelled out, checked in 1.2's order. The NULL label keeps 1.2's leading space, so the
 * log line reads `attackalert:  TCP NULL scan` with two spaces. ECE and CWR are ignored, as in 1.2.
 */

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
export const URG = 0x20;

const CLASSIC_BITS = FIN | SYN | RST | PSH | ACK | URG;

export type TcpProbeClass = { hit: false } | { hit: true; label: string };

// One answer per value of the six bits, made once: the packet path asks for every TCP packet.
const CLASSES: readonly TcpProbeClass[] = Array.from({ length: CLASSIC_BITS + 1 }, (_, f) => classify(f));

export function classifyTcpFlags(flags: number): TcpProbeClass {
  return CLASSES[flags & CLASSIC_BITS]!;
}

function classify(f: number): TcpProbeClass {
  if (f & (ACK | RST)) return { hit: false };
  if (f === 0) return { hit: true, label: ' TCP NULL scan' };
  if ((f & (FIN | URG | PSH)) === (FIN | URG | PSH)) return { hit: true, label: 'TCP XMAS scan' };
  if (f === FIN) return { hit: true, label: 'TCP FIN scan' };
  if (f === SYN) return { hit: true, label: 'TCP SYN/Normal scan' };
  const bit = (b: number) => ((f & b) !== 0 ? 1 : 0);
  return {
    hit: true,
    label: `Unknown Type: TCP Packet Flags: SYN: ${bit(SYN)} FIN: ${bit(FIN)} ACK: ${bit(ACK)} PSH: ${bit(PSH)} URG: ${bit(URG)} RST: ${bit(RST)}`,
  };
}
