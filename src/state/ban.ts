/**
 * @module state/ban
 * What one stored ban is (version 2 of the ban store's records): who, since when, until when, why,
 * enforced by which backends, whether its response finished (`state`), where it came from (`origin`)
 * and the kind of evidence behind it. Owns the names of the backends a ban can be recorded with and
 * the defaults a ban gets when a caller (or a version-1 record) does not say; not the file format
 * (state/ban-records) nor the store (state/ban-store).
 */
import type { EvidenceKind, Mode } from '../detect/probe.ts';

/** Names of the backends a ban can be enforced by, as kept in the ban store. */
export const BACKEND_NAMES = ['nft', 'hosts.deny', 'route', 'cmd'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export function isBackendName(text: string): text is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(text);
}

/**
 * `pending`: recorded before its response ran, so a ban still pending at the next start was cut off
 * by a crash mid-response. `settled`: recorded after its response, with the backends that took it.
 */
export type BanState = 'pending' | 'settled';
export const BAN_STATES: readonly BanState[] = ['pending', 'settled'];

/**
 * Why the ban exists: a detected scan, `portsnare block`, or `restored` (put back from elsewhere; the
 * keeper's own restart keeps a ban's first origin). A later issue adds `fleet:<node>`.
 */
export type BanOrigin = 'detection' | 'manual' | 'restored';
export const BAN_ORIGINS: readonly BanOrigin[] = ['detection', 'manual', 'restored'];

export interface Ban {
  /** Canonical IP text (see canonicalAddress in net/address). */
  address: string;
  /** ms since the epoch. */
  since: number;
  /** ms since the epoch; null = until unblocked. */
  expires: number | null;
  /** Ports that triggered it (a few). */
  ports: number[];
  /** e.g. 'TCP SYN/Normal scan', 'Connect', 'UDP scan'. */
  scanType: string;
  /** 'tcp' | 'udp' | 'stcp' | 'sudp' | 'atcp' | 'audp' | 'manual' */
  mode: string;
  /** Where it is enforced, e.g. ['nft', 'hosts.deny', 'route'] (planned ones while pending). */
  backends: BackendName[];
  state: BanState;
  origin: BanOrigin;
  /** The kind of evidence that made the decision; null for a ban by hand. */
  evidence: EvidenceKind | null;
}

/** A ban as callers hand it to the store: state, origin and evidence default as banDefaults() says. */
export type NewBan = Omit<Ban, 'state' | 'origin' | 'evidence'> &
  Partial<Pick<Ban, 'state' | 'origin' | 'evidence'>>;

export type BanMeta = Pick<Ban, 'state' | 'origin' | 'evidence'>;

const EVIDENCE_OF_MODE: Record<Mode, EvidenceKind> = {
  tcp: 'handshake',
  udp: 'datagram',
  stcp: 'packet',
  sudp: 'packet',
  atcp: 'packet',
  audp: 'packet',
};

/** The evidence a PortSentry mode stands for (tcp: a handshake, udp: a datagram, stealth: a packet). */
export function evidenceOfMode(mode: string): EvidenceKind | null {
  return Object.hasOwn(EVIDENCE_OF_MODE, mode) ? EVIDENCE_OF_MODE[mode as Mode] : null;
}

/** What a ban that does not say gets (and what a version-1 record is read as): settled, by mode. */
export function banDefaults(mode: string): BanMeta {
  return {
    state: 'settled',
    origin: mode === 'manual' ? 'manual' : 'detection',
    evidence: evidenceOfMode(mode),
  };
}

/** One shape for every stored ban (same property order: one hidden class), frozen. */
export function makeBan(
  address: string,
  since: number,
  expires: number | null,
  ports: number[],
  scanType: string,
  mode: string,
  backends: BackendName[],
  meta: Partial<BanMeta> = {},
): Ban {
  const defaults = banDefaults(mode);
  return Object.freeze({
    address,
    since,
    expires,
    ports,
    scanType,
    mode,
    backends,
    state: meta.state ?? defaults.state,
    origin: meta.origin ?? defaults.origin,
    evidence: meta.evidence === undefined ? defaults.evidence : meta.evidence,
  });
}

/** The same ban with other fields (a new frozen object). */
export function withBan(ban: Ban, change: Partial<Omit<Ban, 'address'>>): Ban {
  const b = { ...ban, ...change };
  return makeBan(b.address, b.since, b.expires, b.ports, b.scanType, b.mode, b.backends, b);
}

/**
 * The backends as `list`, `status` and `unblock` have always shown them: a pending ban's planned
 * backends followed by `pending` (version 1 stored it as a backend name; the output stays the same).
 */
export function shownBackends(ban: Pick<Ban, 'backends' | 'state'>): string[] {
  return ban.state === 'pending' ? [...ban.backends, 'pending'] : [...ban.backends];
}
