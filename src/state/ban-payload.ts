/**
 * @module state/ban-payload
 * The payloads of the ban store's records, both versions, and the checks a ban passes before it is
 * written. Framing (checksum, length, lines) is state/ban-records'; the Ban type is state/ban's.
 *
 * - Version 2, written: `B\taddress\tsince\texpires\tports\tmode\tbackends\tstate\torigin\tevidence\tscanType`
 *   (`expires` and `evidence` empty = none; lists comma-separated).
 * - Version 1, read only: `A\taddress\tsince\texpires\tports\tmode\tbackends\tscanType`. A backend
 *   named `pending` meant "cut off by a crash": it is read as state pending; origin and evidence
 *   are derived from the mode (banDefaults).
 * - Both: `R\taddress` (a remove).
 *
 * Adds of the two versions have different type letters, so a journal holding both (a version-1
 * journal appended to by this code before its first compaction) reads record by record.
 */
import type { EvidenceKind } from '../detect/probe.ts';
import {
  BAN_STATES,
  banDefaults,
  isBackendName,
  makeBan,
  type Ban,
  type BackendName,
  type BanOrigin,
  type BanState,
} from './ban.ts';
import { Interner } from './interner.ts';
import { TAB, parsePorts, parseUint } from './ban-records.ts';

const TOKEN = /^[A-Za-z0-9_.:/+-]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
const EVIDENCE: readonly string[] = ['handshake', 'datagram', 'packet'];
const V1_PENDING = 'pending';

/** What is wrong with a ban's fields (the address aside), or null. */
export function banProblem(ban: Ban): string | null {
  const { since, expires, ports, mode, backends, scanType, state, origin, evidence } = ban;
  if (!isTime(since)) return 'since must be a non-negative integer (ms)';
  if (expires !== null && !isTime(expires)) {
    return 'expires must be null or a non-negative integer (ms)';
  }
  if (!Array.isArray(ports) || !ports.every((p) => Number.isInteger(p) && p >= 0 && p <= 65535)) {
    return 'ports must be integers from 0 to 65535';
  }
  if (typeof mode !== 'string' || !TOKEN.test(mode)) return `invalid mode "${mode}"`;
  if (!Array.isArray(backends) || !backends.every((b) => typeof b === 'string' && isBackendName(b))) {
    return 'backends must be names of backends (nft, hosts.deny, route, cmd)';
  }
  if (typeof scanType !== 'string' || CONTROL.test(scanType)) {
    return 'scanType must be a string without control characters';
  }
  if (!BAN_STATES.includes(state)) return `invalid state "${String(state)}"`;
  if (typeof origin !== 'string' || !TOKEN.test(origin)) return `invalid origin "${String(origin)}"`;
  if (evidence !== null && !EVIDENCE.includes(evidence)) return `invalid evidence "${String(evidence)}"`;
  return null;
}

/** Bytes that can be a canonical address (digits, a-f, '.', ':'): a cheap guard on loaded records. */
export function isAddressText(buf: Buffer, start: number, end: number): boolean {
  if (end - start < 2 || end - start > 45) return false;
  for (let i = start; i < end; i++) {
    const c = buf[i] as number;
    if (!((c >= 48 && c <= 58) || (c >= 97 && c <= 102) || c === 46)) return false;
  }
  return true;
}

function isTime(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** The payload of a (version 2) add record. */
export function addPayload(ban: Ban): string {
  const expires = ban.expires === null ? '' : String(ban.expires);
  const { address, since, ports, mode, backends, state, origin, evidence, scanType } = ban;
  return (
    `B\t${address}\t${since}\t${expires}\t${ports.join(',')}\t${mode}\t${backends.join(',')}` +
    `\t${state}\t${origin}\t${evidence ?? ''}\t${scanType}`
  );
}

export function removePayload(address: string): string {
  return `R\t${address}`;
}

/** A parsed payload: an add, a remove, or not a record we write. */
export type Parsed = { kind: 'add'; ban: Ban; version: 1 | 2 } | { kind: 'remove'; address: string } | null;

/** Positions of an add record's field separators (scratch, reused for every record). */
const TABS = new Int32Array(9);

/**
 * Parses payloads by hand from bytes, sharing equal mode, scan type, backend list and origin values
 * between bans so that a million bans hold a handful of each.
 */
export class PayloadParser {
  readonly strings = new Interner((text) => text);
  /** A version-1 list may hold `pending`: kept apart from the backends, as the state. */
  readonly lists = new Interner((text) => {
    const names = text === '' ? [] : text.split(',');
    const backends = Object.freeze(names.filter((n) => n !== V1_PENDING)) as BackendName[];
    return { backends, pending: names.includes(V1_PENDING), known: backends.every(isBackendName) };
  });

  parse(buf: Buffer, start: number, end: number): Parsed {
    const type = buf[start];
    if (end - start < 3 || buf[start + 1] !== TAB) return null;
    if (type === 82 /* R */) return { kind: 'remove', address: buf.toString('latin1', start + 2, end) };
    const fields = type === 66 /* B */ ? 9 : type === 65 /* A */ ? 6 : 0;
    if (fields === 0) return null;
    let field = 0;
    for (let i = start + 2; i < end && field < fields; i++) if (buf[i] === TAB) TABS[field++] = i;
    if (field < fields) return null;
    const t = (n: number) => TABS[n] as number;
    const since = parseUint(buf, t(0) + 1, t(1));
    const expires = t(2) === t(1) + 1 ? null : parseUint(buf, t(1) + 1, t(2));
    const ports = parsePorts(buf, t(2) + 1, t(3));
    if (since < 0 || expires === -1 || ports === null || !isAddressText(buf, start + 2, t(0))) return null;
    const mode = this.strings.fromBytes(buf, t(3) + 1, t(4));
    const list = this.lists.fromBytes(buf, t(4) + 1, t(5));
    if (!list.known) return null;
    const address = buf.toString('latin1', start + 2, t(0));
    const scanType = this.strings.fromBytes(buf, t(fields - 1) + 1, end);
    if (fields === 6) {
      const state: BanState = list.pending ? 'pending' : 'settled';
      const meta = { ...banDefaults(mode), state };
      return {
        kind: 'add',
        version: 1,
        ban: makeBan(address, since, expires, ports, scanType, mode, list.backends, meta),
      };
    }
    if (list.pending) return null;
    const state = this.strings.fromBytes(buf, t(5) + 1, t(6));
    const origin = this.strings.fromBytes(buf, t(6) + 1, t(7));
    const evidence = t(8) === t(7) + 1 ? null : this.strings.fromBytes(buf, t(7) + 1, t(8));
    if (!BAN_STATES.includes(state as BanState) || !TOKEN.test(origin)) return null;
    if (evidence !== null && !EVIDENCE.includes(evidence)) return null;
    const meta = {
      state: state as BanState,
      origin: origin as BanOrigin,
      evidence: evidence as EvidenceKind | null,
    };
    return {
      kind: 'add',
      version: 2,
      ban: makeBan(address, since, expires, ports, scanType, mode, list.backends, meta),
    };
  }
}
