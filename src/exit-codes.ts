/**
 * @module exit-codes
 * Every exit status portsnare returns, in one place (sysexits.h numbers where one fits). The README's
 * "Exit statuses" list is this table.
 */

export const ExitCodes = {
  OK: 0,
  /** A failure at run time (no trap port could be bound, a command failed). */
  FAILURE: 1,
  /** `status` when no daemon runs (LSB's "program is not running"). */
  NOT_RUNNING: 3,
  /** EX_USAGE: the command line is wrong. */
  USAGE: 64,
  /** EX_NOPERM: the control socket is root's. */
  NO_PERMISSION: 77,
  /** EX_CONFIG: a start would be refused for the configuration. */
  CONFIG: 78,
} as const;

export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];
