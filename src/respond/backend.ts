/**
 * @module respond/backend
 * The seam between the response and what enforces it: the Backend interface each enforcer (nft,
 * hosts.deny, route, run-cmd under respond/backends) implements, the typed backend names, and the
 * request, report and target shapes they share. Which backends run, in which order, is
 * respond/classic-responder's; what each one does is its own module's.
 */
import type { Mode, Protocol } from '../detect/probe.ts';
import type { MacroValues } from '../config/command-template.ts';
import type { BackendName } from '../state/ban.ts';

export { BACKEND_NAMES, isBackendName, type BackendName } from '../state/ban.ts';

export interface ResponseRequest {
  address: string;
  /** Resolved name or the address, for 1.2's `H/IP` texts. */
  host: string;
  port: number;
  mode: Mode | 'manual';
  protocol: Protocol;
  /** Seconds the nft element lasts; null or 0: until removed. */
  timeoutSeconds?: number | null;
}

/** The key of an action in reports and log lines (1.2's config key, or NFT). */
export type ActionKey = 'NFT' | 'KILL_HOSTS_DENY' | 'KILL_ROUTE' | 'KILL_RUN_CMD';

export interface ActionReport {
  key: ActionKey;
  ok: boolean;
  detail: string;
  /** True when it succeeded without changing anything (the hosts.deny line was already there). */
  alreadyThere?: boolean;
}

/** A ban as lift() and reapply() need it. */
export interface LiftTarget {
  address: string;
  backends: readonly BackendName[];
  /** The first port and the mode, for templates using $PORT$ or $MODE$. */
  port: number;
  mode: string;
}

/** A ban to put back after a restart, with what is left of its time. */
export type ReapplyTarget = LiftTarget & { secondsLeft: number | null };

export interface ReapplyOptions {
  /** The host rebooted since the bans were made: the kernel forgot their routes. */
  routes: boolean;
  /** The responses were cut off (a crash): a route may or may not exist, so undo it first. */
  interrupted: boolean;
}

const BACKEND_OF: Record<ActionKey, BackendName> = {
  NFT: 'nft',
  KILL_HOSTS_DENY: 'hosts.deny',
  KILL_ROUTE: 'route',
  KILL_RUN_CMD: 'cmd',
};

export function backendOf(key: ActionKey): BackendName {
  return BACKEND_OF[key];
}

export function macroValues(b: Pick<LiftTarget, 'address' | 'port' | 'mode'>): MacroValues {
  return { target: b.address, port: b.port, mode: b.mode as MacroValues['mode'] };
}

/**
 * One enforcer of bans. `blocks` backends (nft, hosts.deny, route) take part in BLOCK_x=1 and in
 * bans by hand; a command backend (run-cmd) in BLOCK_x=1 and 2, never by hand. Every method logs its
 * own PortSentry lines and never throws: a failure is in its report, its return value and the log.
 */
export interface Backend {
  readonly name: BackendName;
  readonly key: ActionKey;
  /** True for a backend that blocks; false for one that only runs a command. */
  readonly blocks: boolean;
  /** Configured and in use now (settings can change on reload). */
  inUse(): boolean;
  /** Enforces one ban (the response to one scanner). */
  block(request: ResponseRequest): Promise<ActionReport>;
  /**
   * Undoes the bans recorded with this backend, batched as the backend can; failures are logged.
   * Resolves to the addresses undone. A backend with no undo (run-cmd) undoes nothing.
   */
  lift(bans: readonly LiftTarget[]): Promise<string[]>;
  /** Puts restored bans back after a restart; resolves to how many failed (each is logged). */
  reapply(bans: readonly ReapplyTarget[], options: ReapplyOptions): Promise<number>;
  /** What it does now, one line (e.g. `nftables set inet portsnare blocked4/blocked6`). */
  describe(): string;
}
