/**
 * @module detect/probe
 * The probe event: what every sensor produces and the detector consumes. Sensors fill it from a socket
 * or a packet; nothing downstream knows which.
 */

export type Protocol = 'tcp' | 'udp';

/** PortSentry's six modes; the name is also the `$MODE$` macro and the blocked-file suffix. */
export type Mode = 'tcp' | 'udp' | 'stcp' | 'sudp' | 'atcp' | 'audp';

export const TCP_MODES = ['tcp', 'stcp', 'atcp'] as const;
export const UDP_MODES = ['udp', 'sudp', 'audp'] as const;
export const ALL_MODES: readonly Mode[] = [...TCP_MODES, ...UDP_MODES];

export function protocolOf(mode: Mode): Protocol {
  return mode.endsWith('tcp') ? 'tcp' : 'udp';
}

export function isClassic(mode: Mode): boolean {
  return mode === 'tcp' || mode === 'udp';
}

export function isAdvanced(mode: Mode): boolean {
  return mode === 'atcp' || mode === 'audp';
}

/**
 * What kind of evidence a probe is, set by the sensor that saw it: `handshake`, a completed TCP
 * handshake (the source address answered our SYN-ACK, so it is real); `datagram`, a UDP datagram
 * received on a socket; `packet`, a packet seen by the capture (SYN, FIN, NULL, XMAS, UDP), whose
 * source anyone can forge. Part 5 grades evidence by this kind.
 */
export type EvidenceKind = 'handshake' | 'datagram' | 'packet';

export interface ProbeEvent {
  mode: Mode;
  protocol: Protocol;
  /**
   * What the sensor saw: classic TCP traps `handshake`, classic UDP traps `datagram`, the packet
   * capture (stealth and advanced modes) `packet`. The detector counts distinct ports only for
   * `packet` evidence; a handshake or a datagram counts as 1.2 did.
   */
  evidence: EvidenceKind;
  /** Canonical source address (IPv4 dotted quad, or compressed lower-case IPv6). */
  source: string;
  /** Destination (trap) port. */
  port: number;
  /** Destination address, where the sensor knows it (packet modes). */
  destination?: string;
  /** Milliseconds since the epoch. */
  time: number;
  /** Stealth TCP probes: 1.2's scan label (`TCP SYN/Normal scan`, ` TCP NULL scan`, ...). */
  label?: string;
  /** IPv4 packet carrying IP options (1.2's "detection avoidance technique" line). */
  ipOptions?: boolean;
}
