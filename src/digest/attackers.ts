/**
 * @module digest/attackers
 * "Attackers first": one row per source address, gathered from PortSentry 1.2 and portsnare lines
 * (idents `portsentry` and `portsnare`), sshd failures (`sshd`, and `sshd-session` since Debian 13)
 * and kernel firewall LOG lines. The line recognisers are in digest/attacker-lines; this module adds
 * their events up per source, ranks the sources and prints port ranges.
 *
 * Lines are expected in time order (one file after the other, oldest first); blocks and lifts that
 * arrive out of order are still placed by their times, so a lift older than a block does not undo it.
 */
import { sentryEvent, sourceOf, sshEvent, firewallEvent, type SentryEvent } from './attacker-lines.ts';
import type { AttackerEvidence, Protocol } from './attacker-lines.ts';
import { parseSyslogLine, type SyslogLine } from './syslog-line.ts';

export type { AttackerEvidence } from './attacker-lines.ts';

export interface PortRange {
  readonly protocol: Protocol;
  readonly from: number;
  readonly to: number;
}

export interface AttackerRow {
  /** Canonical text: IPv4 dotted quad, IPv6 RFC 5952 (IPv4-mapped IPv6 is the IPv4 address). */
  readonly address: string;
  /** Reverse names seen in `name/IP` fields, distinct, sorted (at most 20). */
  readonly names: readonly string[];
  /** Milliseconds since the epoch, over every line that named the source. */
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** Probes and attempts: connects, scans, packet anomalies, ssh attempts, firewall drops. */
  readonly hits: number;
  /** Distinct, in first-seen order: `TCP connect`, `TCP SYN/Normal scan`, `sshd failed password`... */
  readonly kinds: readonly string[];
  /** The evidence classes behind `kinds`, distinct, in first-seen order. */
  readonly evidence: readonly AttackerEvidence[];
  /** Distinct probed destination ports, merged into ranges, TCP before UDP. */
  readonly ports: readonly PortRange[];
  /** "already blocked" lines: probes the daemon saw after the source was blocked. */
  readonly repeatsAfterBlock: number;
  /** The first block, or null if no block line was seen. */
  readonly blockedAt: number | null;
  /** `wrappers`, `route`, `command`, `nftables`, `manual`, in first-seen order. */
  readonly blockedVia: readonly string[];
  /** Times the source went from unblocked to blocked: wrappers + route at one moment are one block. */
  readonly blocks: number;
  /** Blocked, with no later lift and no ban duration that has run out by `now`. */
  readonly stillBlocked: boolean;
  /** The last lift (expiry, unblock request, flush, ban not restored), if any. */
  readonly unblocked: number | null;
  /** Why a response did not happen or failed, distinct, in first-seen order (at most 20). */
  readonly refusals: readonly string[];
  /** Distinct ssh user names tried, sorted (the first 20 seen). */
  readonly sshUsers: readonly string[];
  readonly severity: number;
}

const LIST_CAP = 20;
/** Untracked sources are counted exactly up to this many, then estimated (see `overflow`). */
const EXACT_OVERFLOW = 65_536;
/** Bounds of the per-process memories (a pending `Invalid user`, the last probe of a pid). */
const PENDING_CAP = 10_000;

/*
 * Severity: a tier times 1e9 plus the hits (capped below 1e9), so hits order sources within a
 * tier and never lift a source into the next one:
 *   6 still blocked; 5 blocked, then lifted (or expired); 4 a refusal, a PortSentry/portsnare probe
 *   or "already blocked" line without a block; 3 ssh failures only; 2 firewall drops only; 1 a
 *   lift or nothing else (a ban from before the log began running out).
 */
const TIER = 1e9;

/** Adds `value` to a short distinct list (at most LIST_CAP); a linear search is cheaper than a Set here. */
function addCapped(list: string[], value: string): void {
  if (list.length < LIST_CAP && !list.includes(value)) list.push(value);
}

/**
 * One source. Under a flood of forged sources most see one line, so a source is kept small: short
 * arrays for the lists, and the port set made on first use.
 */
class Source {
  readonly names: string[] = [];
  firstSeen = Infinity;
  lastSeen = -Infinity;
  hits = 0;
  readonly kinds: string[] = [];
  readonly evidence: AttackerEvidence[] = [];
  /** Port + 65536 for UDP. */
  ports: Set<number> | null = null;
  repeats = 0;
  blockedAt: number | null = null;
  readonly via: string[] = [];
  blocks = 0;
  blocked = false;
  lastBlock = -Infinity;
  lastLift = -Infinity;
  /** When the current block runs out on its own; Infinity while any backend holds it for good. */
  expiresAt = Infinity;
  /** The block under way was made by an external command alone (so far). */
  commandOnly = false;
  readonly refusals: string[] = [];
  readonly users: string[] = [];
  /**
   * Time and port (+65536 for UDP, -1 for none) of the last probe: 1.2 logs a packet with IP
   * options twice, as a scan line and as an IP-options line.
   */
  lastProbeTime = NaN;
  lastProbePort = -1;
  /** Whether the last probe counted was an IP-options line (the scan line may follow it). */
  lastProbeOptions = false;

  constructor(readonly address: string) {}

  see(time: number): void {
    if (time < this.firstSeen) this.firstSeen = time;
    if (time > this.lastSeen) this.lastSeen = time;
  }

  /** Kinds are few (a dozen at most), so the unbounded linear list stays short. */
  kind(evidence: AttackerEvidence, kind: string): void {
    if (!this.kinds.includes(kind)) this.kinds.push(kind);
    if (!this.evidence.includes(evidence)) this.evidence.push(evidence);
  }

  probe(
    time: number,
    evidence: AttackerEvidence,
    kind: string,
    protocol: Protocol | null,
    port: number | null,
  ) {
    this.kind(evidence, kind);
    const key = port === null ? -1 : protocol === 'udp' ? port + 65536 : port;
    if (key >= 0) (this.ports ??= new Set()).add(key);
    const options = evidence === 'ipOptions';
    // 1.2 logs a packet with IP options twice, as a scan and as "has IP options set": one probe.
    const samePacket =
      (options || this.lastProbeOptions) && time === this.lastProbeTime && key === this.lastProbePort;
    if (!samePacket) this.hits++;
    this.lastProbeTime = time;
    this.lastProbePort = key;
    this.lastProbeOptions = options && !samePacket;
  }

  /**
   * A block line. Lines of one moment (wrappers, route, command) join the block under way, as does
   * any block line while it holds; a timed ban that has run out without a lift line ends the block.
   * An external command has no lift of its own (and may run before the block, KILL_RUN_CMD_FIRST):
   * it holds a block only while no other backend has said how long it lasts.
   */
  block(time: number, via: string, seconds: number | null): void {
    if (!this.via.includes(via)) this.via.push(via);
    if (this.blockedAt === null || time < this.blockedAt) this.blockedAt = time;
    if (time > this.lastBlock) this.lastBlock = time;
    const expires = seconds === null ? Infinity : time + seconds * 1000;
    const command = via === 'command';
    const held = this.blocked && time < this.expiresAt;
    if (!held && time >= this.lastLift) {
      this.blocked = true;
      this.blocks++;
      this.expiresAt = expires;
      this.commandOnly = command;
    } else if (held && !command) {
      this.expiresAt = this.commandOnly ? expires : Math.max(this.expiresAt, expires);
      this.commandOnly = false;
    }
  }

  lift(time: number): void {
    if (time > this.lastLift) this.lastLift = time;
    if (this.blocked && time >= this.lastBlock) this.blocked = false;
  }

  row(now: number): AttackerRow {
    const stillBlocked = this.blocked && this.expiresAt > now;
    let tier: number;
    if (stillBlocked) tier = 6;
    else if (this.blockedAt !== null) tier = 5;
    else if (
      this.refusals.length > 0 ||
      this.repeats > 0 ||
      this.evidence.includes('connect') ||
      this.evidence.includes('scan') ||
      this.evidence.includes('ipOptions')
    )
      tier = 4;
    else if (this.evidence.includes('sshd')) tier = 3;
    else if (this.evidence.includes('firewall')) tier = 2;
    else tier = 1;
    return {
      address: this.address,
      names: [...this.names].sort(),
      firstSeen: this.firstSeen,
      lastSeen: this.lastSeen,
      hits: this.hits,
      kinds: [...this.kinds],
      evidence: [...this.evidence],
      ports: this.ports === null ? [] : portRanges(this.ports),
      repeatsAfterBlock: this.repeats,
      blockedAt: this.blockedAt,
      blockedVia: [...this.via],
      blocks: this.blocks,
      stillBlocked,
      unblocked: this.lastLift === -Infinity ? null : this.lastLift,
      refusals: [...this.refusals],
      sshUsers: [...this.users].sort(),
      severity: tier * TIER + Math.min(this.hits, TIER - 1),
    };
  }
}

/**
 * Whether the program of a raw line may be one the table reads, found without a regex: the tag
 * follows the host, after the 15-character RFC 3164 stamp or the RFC 3339 one (up to a space).
 * A false positive costs a parse; a false negative cannot happen for a well-formed head.
 */
function mayBeEvidence(line: string): boolean {
  const stampEnd = line.charCodeAt(0) <= 57 /* a digit: RFC 3339 */ ? line.indexOf(' ') : 15;
  const hostEnd = stampEnd < 0 ? -1 : line.indexOf(' ', stampEnd + 1);
  if (hostEnd < 0) return false;
  const at = hostEnd + 1;
  switch (line.charCodeAt(at)) {
    case 112 /* p */:
      return line.startsWith('portsentry', at) || line.startsWith('portsnare', at);
    case 115 /* s */:
      return line.startsWith('sshd', at);
    case 107 /* k */:
      return line.startsWith('kernel', at);
    default:
      return false;
  }
}

function portRanges(ports: ReadonlySet<number>): PortRange[] {
  const sorted = Int32Array.from(ports).sort();
  const out: PortRange[] = [];
  for (let i = 0; i < sorted.length;) {
    const from = sorted[i]!;
    let to = from;
    while (i + 1 < sorted.length && sorted[i + 1] === to + 1 && to !== 65535) to = sorted[++i]!;
    i++;
    const udp = from >= 65536;
    out.push({ protocol: udp ? 'udp' : 'tcp', from: udp ? from - 65536 : from, to: udp ? to - 65536 : to });
  }
  return out;
}

/** `TCP 1, 11-15, 79; UDP 7`; empty for no ports. */
export function formatPortRanges(ranges: readonly PortRange[]): string {
  const parts: string[] = [];
  for (const protocol of ['tcp', 'udp'] as const) {
    const mine = ranges.filter((r) => r.protocol === protocol);
    if (mine.length === 0) continue;
    const list = mine.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)).join(', ');
    parts.push(`${protocol.toUpperCase()} ${list}`);
  }
  return parts.join('; ');
}

/** 32-bit FNV-1a with murmur3's finaliser, so that the estimator's buckets are evenly filled. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Distinct untracked sources: exact (a set of 32-bit hashes) up to EXACT_OVERFLOW, then a
 * HyperLogLog estimate (4096 registers, about 1.6% standard error), so the memory stays bounded.
 */
class DistinctCounter {
  #exact: Set<number> | null = new Set();
  readonly #registers = new Uint8Array(4096);

  add(text: string): void {
    const h = hash32(text);
    const rank = Math.clz32((h << 12) | 0x800) + 1;
    const at = h >>> 20;
    if (rank > this.#registers[at]!) this.#registers[at] = rank;
    if (this.#exact !== null) {
      this.#exact.add(h);
      if (this.#exact.size > EXACT_OVERFLOW) this.#exact = null;
    }
  }

  get count(): number {
    if (this.#exact !== null) return this.#exact.size;
    const m = this.#registers.length;
    let sum = 0;
    let zeros = 0;
    for (const r of this.#registers) {
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const estimate = ((0.7213 / (1 + 1.079 / m)) * m * m) / sum;
    return Math.round(estimate <= 2.5 * m && zeros > 0 ? m * Math.log(m / zeros) : estimate);
  }
}

export class AttackerTable {
  readonly #now: Date;
  readonly #maxSources: number;
  readonly #sources = new Map<string, Source>();
  readonly #overflow = new DistinctCounter();
  #overflowLines = 0;
  /** `host|pid|address` of an `Invalid user` line whose `Failed ... for invalid user` is to come. */
  readonly #pendingInvalid = new Set<string>();
  /** pid → the last probe that process logged, and where (for "Ignoring ... response"). */
  readonly #lastProbeOf = new Map<number, { host: string; program: string; address: string }>();

  /**
   * `now` decides which RFC 3164 stamps belong to last year and which timed bans have run out.
   * `maxSources` (default 100000) bounds memory under a flood of forged sources: once that many
   * are tracked, lines about a new address are not stored; such addresses are only counted, in
   * `overflow`, and their lines in `overflowLines`.
   */
  constructor(options: { now?: Date; maxSources?: number } = {}) {
    this.#now = options.now ?? new Date();
    this.#maxSources = options.maxSources ?? 100_000;
  }

  /** Takes one raw log line; true when the line was attacker evidence (consumed), false otherwise. */
  add(line: string): boolean {
    if (!mayBeEvidence(line)) return false;
    const parsed = parseSyslogLine(line, this.#now);
    return parsed !== null && this.addParsed(parsed, line);
  }

  /**
   * Also usable by the lead when it already parsed the head. The raw line is part of the shared
   * signature; every field read here is in `parsed`.
   */
  addParsed(parsed: SyslogLine, _line: string): boolean {
    const { program } = parsed;
    if (
      program !== 'portsentry' &&
      program !== 'portsnare' &&
      program !== 'sshd' &&
      program !== 'sshd-session'
    ) {
      if (program !== 'kernel') return false;
    }
    let { message } = parsed;
    let times = 1;
    // rsyslog's reduction of identical lines: `message repeated 3 times: [ Failed password ...]`.
    if (message.startsWith('message repeated ')) {
      const m = /^message repeated (\d+) times: \[ ?(.*)\]$/.exec(message);
      if (!m) return false;
      times = Number(m[1]);
      message = m[2]!;
    }
    let consumed = false;
    for (let i = 0; i < times; i++) {
      const one =
        program === 'kernel'
          ? this.#firewall(parsed, message)
          : program === 'sshd' || program === 'sshd-session'
            ? this.#ssh(parsed, message)
            : this.#sentry(parsed, message);
      if (!one) return consumed;
      consumed = true;
    }
    return consumed;
  }

  rows(): AttackerRow[] {
    const now = this.#now.getTime();
    const rows = Array.from(this.#sources.values(), (s) => s.row(now));
    return rows.sort(
      (a, b) =>
        b.severity - a.severity ||
        b.hits - a.hits ||
        a.firstSeen - b.firstSeen ||
        (a.address < b.address ? -1 : a.address > b.address ? 1 : 0),
    );
  }

  get size(): number {
    return this.#sources.size;
  }

  /** Distinct sources not tracked because `maxSources` was reached (an estimate beyond 65536). */
  get overflow(): number {
    return this.#overflow.count;
  }

  /** Attacker lines about untracked sources. */
  get overflowLines(): number {
    return this.#overflowLines;
  }

  #source(address: string, time: number, create = true): Source | null {
    let s = this.#sources.get(address);
    if (s === undefined) {
      if (!create) return null;
      if (this.#sources.size >= this.#maxSources) {
        this.#overflow.add(address);
        this.#overflowLines++;
        return null;
      }
      s = new Source(address);
      this.#sources.set(address, s);
    }
    s.see(time);
    return s;
  }

  #sentry(parsed: SyslogLine, message: string): boolean {
    const e = sentryEvent(message);
    if (e === null) return false;
    const pid = parsed.pid ?? -1;
    if (e.t === 'ignoredResponse') {
      const last = this.#lastProbeOf.get(pid);
      const address =
        last !== undefined && last.host === parsed.host && last.program === parsed.program
          ? last.address
          : undefined;
      const s = address === undefined ? null : this.#source(address, parsed.time);
      if (s === null) return address !== undefined; // an overflowed source's line is still consumed
      addCapped(s.refusals, `${e.protocol.toUpperCase()} response off in the configuration`);
      return true;
    }
    const source = sourceOf(e.host);
    if (source === null) return false;
    const s = this.#source(source.address, parsed.time);
    if (e.t === 'probe') this.#rememberProbe(pid, parsed, source.address);
    if (s === null) return true;
    if (source.name !== null) addCapped(s.names, source.name);
    applySentry(s, e, parsed.time);
    return true;
  }

  #rememberProbe(pid: number, parsed: SyslogLine, address: string): void {
    const last = this.#lastProbeOf.get(pid);
    if (last !== undefined) {
      last.host = parsed.host;
      last.program = parsed.program;
      last.address = address;
      return;
    }
    if (this.#lastProbeOf.size >= PENDING_CAP) this.#lastProbeOf.clear();
    this.#lastProbeOf.set(pid, { host: parsed.host, program: parsed.program, address });
  }

  #ssh(parsed: SyslogLine, message: string): boolean {
    const e = sshEvent(message);
    if (e === null) return false;
    if (e.t === 'sibling') {
      if (e.address === null) return true; // PAM's rhost was a name or empty: still a failure line
      const s = this.#source(e.address, parsed.time, false);
      if (s !== null && e.user !== null) addCapped(s.users, e.user);
      return true;
    }
    if (e.t === 'weak') {
      const s = this.#sources.get(e.address);
      if (s === undefined || !s.evidence.includes('sshd')) return false;
      s.see(parsed.time);
      return true;
    }
    const s = this.#source(e.address, parsed.time);
    if (s === null) return true;
    s.kind('sshd', e.kind);
    addCapped(s.users, e.user);
    const key = `${parsed.host}|${parsed.pid}|${e.address}`;
    if (e.t === 'failedInvalid' && this.#pendingInvalid.delete(key)) return true;
    if (e.kind === 'sshd invalid user') {
      if (this.#pendingInvalid.size >= PENDING_CAP) this.#pendingInvalid.clear();
      this.#pendingInvalid.add(key);
    }
    s.hits++;
    return true;
  }

  #firewall(parsed: SyslogLine, message: string): boolean {
    const e = firewallEvent(message);
    if (e === null) return false;
    const s = this.#source(e.address, parsed.time);
    if (s !== null) s.probe(parsed.time, 'firewall', 'firewall drop', e.protocol, e.port);
    return true;
  }
}

function applySentry(s: Source, e: Exclude<SentryEvent, { t: 'ignoredResponse' }>, time: number): void {
  switch (e.t) {
    case 'probe':
      s.probe(time, e.evidence, e.kind, e.protocol, e.port);
      return;
    case 'repeat':
      s.repeats++;
      return;
    case 'block':
      s.block(time, e.via, e.seconds);
      return;
    case 'lift':
      s.lift(time);
      if (e.refusal !== null) addCapped(s.refusals, e.refusal);
      return;
    case 'refusal':
      addCapped(s.refusals, e.reason);
      return;
  }
}
