/**
 * @module cli/exit-status
 * A number some other process gave (the detached daemon's report or exit status) as one of
 * portsnare's exit statuses: the same status when it is one of ExitCodes, else FAILURE.
 */
import { ExitCodes, type ExitCode } from '../exit-codes.ts';

const KNOWN: readonly ExitCode[] = Object.values(ExitCodes);

export function exitCodeOf(status: number): ExitCode {
  return KNOWN.find((code) => code === status) ?? ExitCodes.FAILURE;
}
