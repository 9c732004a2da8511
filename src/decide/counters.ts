/**
 * @module decide/counters
 * The alert path's counters, in the order SIGUSR1's `Counters:` line and `status` show them.
 */

export interface AlertCounters {
  hits: number;
  ignored: number;
  /** Never-block sources that reached the trigger (each logged once per interval). */
  refused: number;
  belowTrigger: number;
  alerts: number;
  blocks: number;
  failedResponses: number;
  /** Alerts not handled because MAX_PENDING_ALERTS were already waiting (a flood). */
  alertsDropped: number;
  /** Hosts not blocked because MAX_BLOCKS_PER_MINUTE was reached. */
  blocksCapped: number;
}

export function newAlertCounters(): AlertCounters {
  return {
    hits: 0,
    ignored: 0,
    refused: 0,
    belowTrigger: 0,
    alerts: 0,
    blocks: 0,
    failedResponses: 0,
    alertsDropped: 0,
    blocksCapped: 0,
  };
}
