/**
 * @module control/protocol
 * What `portsnare status|list|block|unblock|flush` and the daemon say to each other over the control
 * socket: one JSON request line, one JSON reply line. Requests are checked field by field here, so
 * the daemon only ever sees well-formed ones; a reply carries a result or an error with a stable
 * code, each command's result of its own type (checked by control/replies). The wire types are
 * this module's own: the daemon's bans and traps satisfy them structurally.
 */
import { ErrorCodes, PortsnareError } from '../errors.ts';
import { isObject } from './json-shape.ts';

/** Longest request line accepted; anything longer is refused and the connection closed. */
export const MAX_REQUEST_BYTES = 4096;

export type ControlRequest =
  | { command: 'status' }
  | { command: 'list' }
  | { command: 'block'; address: string; seconds: number | null }
  | { command: 'unblock'; target: string }
  | { command: 'flush' };

export type ControlCommand = ControlRequest['command'];

/** A ban as shown to people and scripts: times as ISO text. */
export interface BanView {
  address: string;
  since: string;
  /** null: until unblocked. */
  expires: string | null;
  ports: number[];
  scanType: string;
  mode: string;
  backends: string[];
}

/** What a ban must have to be shown (the ban store's record has this shape). Times in ms. */
export interface BanFields {
  readonly address: string;
  readonly since: number;
  /** null: until unblocked. */
  readonly expires: number | null;
  readonly ports: readonly number[];
  readonly scanType: string;
  readonly mode: string;
  readonly backends: readonly string[];
  /** `pending`: its response was cut off (a crash); shown as a last `pending` backend, as before. */
  readonly state?: 'pending' | 'settled';
}

/** What one mode watches, as `status` shows it. */
export interface TrapView {
  mode: string;
  /** Ports watched (classic: bound on at least one family; stealth: listed and free at start). */
  ports: number[] | null;
  /** Advanced modes: every free port below this, except `exclude`. */
  below?: number;
  exclude?: number[];
}

export interface StatusReport {
  running: boolean;
  pid: number | null;
  startedAt: string | null;
  version: string;
  modes: string[];
  backend: string;
  blockTime: number;
  traps: TrapView[];
  counters: Record<string, number>;
  stateDir: string;
  bans: BanView[];
}

export interface BlockReply {
  ban: BanView;
  /** True when the address was already banned (nothing changed). */
  already: boolean;
}

export interface UnblockReply {
  lifted: BanView[];
  /** False when no stored ban matched (the backends were still cleaned for a single address). */
  found: boolean;
}

export interface FlushReply {
  lifted: number;
}

/** The result each command's reply carries. */
export interface ControlResults {
  status: StatusReport;
  list: BanView[];
  block: BlockReply;
  unblock: UnblockReply;
  flush: FlushReply;
}

export type ControlReply = { ok: true; result: unknown } | { ok: false; code: string; error: string };

export function toBanView(ban: BanFields): BanView {
  return {
    address: ban.address,
    since: new Date(ban.since).toISOString(),
    expires: ban.expires === null ? null : new Date(ban.expires).toISOString(),
    ports: [...ban.ports],
    scanType: ban.scanType,
    mode: ban.mode,
    backends: ban.state === 'pending' ? [...ban.backends, 'pending'] : [...ban.backends],
  };
}

/** The name the daemon's control handler uses. */
export const banView = toBanView;

function refuse(reason: string): PortsnareError {
  return new PortsnareError(ErrorCodes.USAGE, reason);
}

/** Parses and checks one request line; throws a USAGE PortsnareError saying what is wrong. */
export function parseRequest(line: string): ControlRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw refuse('request is not JSON');
  }
  if (!isObject(value)) throw refuse('request is not a JSON object');
  const r = value;
  const text = (key: string): string => {
    const v = r[key];
    if (typeof v !== 'string' || v.length === 0 || v.length > 100) {
      throw refuse(`"${key}" must be a non-empty string`);
    }
    return v;
  };
  switch (r.command) {
    case 'status':
    case 'list':
    case 'flush':
      return { command: r.command };
    case 'block': {
      const seconds = r.seconds ?? null;
      if (
        seconds !== null &&
        (typeof seconds !== 'number' || !Number.isSafeInteger(seconds) || seconds < 1)
      ) {
        throw refuse('"seconds" must be a positive whole number or null');
      }
      return { command: 'block', address: text('address'), seconds };
    }
    case 'unblock':
      return { command: 'unblock', target: text('target') };
    default:
      throw refuse(`unknown command ${JSON.stringify(r.command)}`);
  }
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** `--for` values: `90`, `90s`, `15m`, `2h`, `7d`, `1w`; whole units only. Null if invalid. */
export function parseDuration(text: string): number | null {
  const match = /^(\d{1,9})([smhdw]?)$/.exec(text.trim());
  if (!match) return null;
  const seconds = Number(match[1]) * (UNITS[match[2] || 's'] ?? 1);
  return seconds >= 1 && Number.isSafeInteger(seconds) ? seconds : null;
}
