/**
 * @module state/state-dir
 * The names of everything portsnare keeps in STATE_DIR, in one place. Every module that opens one of
 * these files asks here for its path, so a rename (or the owner checks of a later issue) is one edit.
 */
import { join } from 'node:path';

/** File and directory names inside STATE_DIR. */
export const StateNames = {
  /** The running daemon's pid, one decimal line. */
  pidFile: 'portsnare.pid',
  /** The control socket (root-only, mode 0600). */
  socket: 'portsnare.sock',
  /** The ban store's directory (journal, snapshot, lock). */
  bans: 'bans',
  /** The kernel boot id seen at the last start: a reboot empties our nft sets and routes. */
  bootId: 'boot-id',
  /** The alert mail's rate-limit stamp (daemon/alert-mail), so a restart does not reset the limit. */
  alertMail: 'alert-mail.json',
} as const;

export type StateName = keyof typeof StateNames;

/** The paths of STATE_DIR's files for one state directory. */
export interface StatePaths {
  readonly dir: string;
  readonly pidFile: string;
  readonly socket: string;
  readonly bans: string;
  readonly bootId: string;
  readonly alertMail: string;
}

export function statePaths(stateDir: string): StatePaths {
  return {
    dir: stateDir,
    pidFile: join(stateDir, StateNames.pidFile),
    socket: join(stateDir, StateNames.socket),
    bans: join(stateDir, StateNames.bans),
    bootId: join(stateDir, StateNames.bootId),
    alertMail: join(stateDir, StateNames.alertMail),
  };
}
