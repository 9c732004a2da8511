/**
 * @module decide/counters
 * The alert path's counters, in the order SIGUSR1's `Counters:` line and `status` show them.
 */
import type { EvidenceKind } from '../detect/probe.ts';

export interface AlertCounters {
  hits: number;
  ignored: number;
  /** Ignore-list sources that reached the trigger: never blocked and, as in 1.2, never logged. */
  ignoredListed: number;
  /** Automatic never-block sources (own, gateways, resolvers, not a peer) that reached the trigger (each logged once per interval). */
  refused: number;
  belowTrigger: number;
  alerts: number;
  blocks: number;
  failedResponses: number;
  /** Alerts not handled because MAX_PENDING_ALERTS were already waiting (a flood). */
  alertsDropped: number;
  /** Hosts not blocked because MAX_BLOCKS_PER_MINUTE was reached, all evidence kinds together. */
  blocksCapped: number;
  /** The same, per evidence kind (each kind has its own MAX_BLOCKS_PER_MINUTE budget). */
  blocksCappedHandshake: number;
  blocksCappedDatagram: number;
  blocksCappedPacket: number;
}

/** The per-kind capped counter of each evidence kind. */
export const CAPPED_BY_EVIDENCE = {
  handshake: 'blocksCappedHandshake',
  datagram: 'blocksCappedDatagram',
  packet: 'blocksCappedPacket',
} as const satisfies Record<EvidenceKind, keyof AlertCounters>;

export function newAlertCounters(): AlertCounters {
  return {
    hits: 0,
    ignored: 0,
    ignoredListed: 0,
    refused: 0,
    belowTrigger: 0,
    alerts: 0,
    blocks: 0,
    failedResponses: 0,
    alertsDropped: 0,
    blocksCapped: 0,
    blocksCappedHandshake: 0,
    blocksCappedDatagram: 0,
    blocksCappedPacket: 0,
  };
}
