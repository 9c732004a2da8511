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
/** The modes this version can run. */
export const IMPLEMENTED_MODES: readonly Mode[] = ['tcp', 'udp'];

export function protocolOf(mode: Mode): Protocol {
  return mode.endsWith('tcp') ? 'tcp' : 'udp';
}

export function isClassic(mode: Mode): boolean {
  return mode === 'tcp' || mode === 'udp';
}

export interface ProbeEvent {
  mode: Mode;
  protocol: Protocol;
  /** Canonical source address (IPv4 dotted quad, or compressed lower-case IPv6). */
  source: string;
  /** Destination (trap) port. */
  port: number;
  /** Milliseconds since the epoch. */
  time: number;
}
