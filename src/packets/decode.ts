/**
 * @module packets/decode
 * The packet decoder of the stealth and advanced modes: one captured frame in, the few fields the
 * detector needs out (family, canonical source and destination, TCP/UDP ports, TCP flags, whether
 * the IPv4 header carries options), or the reason the frame was dropped.
 *
 * This module owns the parsing of every link layer portsnare captures on (Ethernet with stacked
 * 802.1Q/802.1ad tags, Linux cooked v1 and v2, raw IP, BSD loopback), of IPv4 and IPv6 (extension
 * headers, fragments) and of the first bytes of TCP and UDP. It never throws and never reads
 * outside `data`: every offset is checked against `data.length` before it is read. The packet
 * path calls `decodeInto`, which fills one reused `PacketFields` with numbers (addresses as words,
 * net/address-words) and allocates nothing for a packet it decodes; `decodePacket` is the same
 * decoder with the addresses as canonical text (IPv6 as RFC 5952 text, IPv4-mapped as IPv4).
 *
 * Drop reasons follow one rule: a header that runs past the end of the captured bytes, or past the
 * end the IP header declares, is `truncated`; the only exception is a first fragment too short to
 * hold the transport header, which is a `fragment` (RFC 1858 tiny fragments).
 */

import { addressText, ipv4Text, setV4Words } from '../net/address-words.ts';

export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export const TcpFlag = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128 } as const;

export interface DecodedPacket {
  family: 4 | 6;
  /** Canonical text (see `net/address.canonicalAddress`). */
  source: string;
  /** Canonical text. */
  destination: string;
  protocol: 'tcp' | 'udp';
  sourcePort: number;
  destinationPort: number;
  /** Low 8 bits of the TCP flags byte (see `TcpFlag`); 0 for UDP. */
  tcpFlags: number;
  /** IPv4 header longer than 20 bytes (PortSentry's "detection avoidance" line); false for IPv6. */
  ipOptions: boolean;
}

export type DropReason =
  | 'truncated'
  | 'unsupported-link'
  | 'not-ip'
  | 'bad-ip-version'
  | 'illegal-ip-header-length'
  | 'not-tcp-or-udp'
  | 'fragment'
  | 'bad-transport-header';

/**
 * A failed decode says why. `illegal-ip-header-length` carries the IHL nibble, the source address
 * (when the 20-byte fixed header was captured) and the protocol when it is TCP or UDP, for
 * PortSentry's "Illegal IP header length detected in TCP packet: n from (possible) host: IP".
 * `fragment` and `bad-transport-header` carry the source and, when known, the protocol.
 */
export type DecodeResult =
  | { ok: true; packet: DecodedPacket }
  | { ok: false; reason: DropReason; ihl?: number; source?: string; protocol?: 'tcp' | 'udp' };

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
/** Real networks stack two tags (QinQ), rarely three; frames with more are `not-ip`. */
const MAX_VLAN_TAGS = 8;
/** IPv6 extension headers walked before giving up (`not-tcp-or-udp`). */
const MAX_IPV6_HEADERS = 16;

const PROTO_TCP = 6;
const PROTO_UDP = 17;

/** A failed decode: the reason and what is known of the packet (see DecodeResult). */
export type DecodeFailure = Extract<DecodeResult, { ok: false }>;

/**
 * One decoded packet, numeric, filled in place by `decodeInto`. Addresses are four words each
 * (net/address-words; IPv4 in its mapped form, so an IPv4-mapped IPv6 address reads as IPv4).
 */
export class PacketFields {
  /** IP version of the packet. */
  family: 4 | 6 = 4;
  readonly source = new Uint32Array(4);
  readonly destination = new Uint32Array(4);
  protocol: 'tcp' | 'udp' = 'tcp';
  sourcePort = 0;
  destinationPort = 0;
  tcpFlags = 0;
  ipOptions = false;

  /** The packet with its addresses as canonical text. */
  toDecodedPacket(): DecodedPacket {
    return {
      family: this.family,
      source: addressText(this.source),
      destination: addressText(this.destination),
      protocol: this.protocol,
      sourcePort: this.sourcePort,
      destinationPort: this.destinationPort,
      tcpFlags: this.tcpFlags,
      ipOptions: this.ipOptions,
    };
  }
}

// Drops without details are shared, so a flood of garbage allocates nothing either.
const DROPS = new Map<DropReason, DecodeFailure>();
const drop = (reason: DropReason): DecodeFailure => {
  let failure = DROPS.get(reason);
  if (!failure) DROPS.set(reason, (failure = Object.freeze({ ok: false, reason }) as DecodeFailure));
  return failure;
};

const scratch = new PacketFields();

/** Decodes one captured frame of link type `linkType` (a `LinkType` value), addresses as text. */
export function decodePacket(linkType: number, data: Uint8Array): DecodeResult {
  const failure = decodeInto(linkType, data, scratch);
  return failure ?? { ok: true, packet: scratch.toDecodedPacket() };
}

/**
 * Decodes one captured frame into `out`; null when it decoded (then every field of `out` is this
 * packet's), else why not (`out` then holds nothing meaningful).
 */
export function decodeInto(linkType: number, data: Uint8Array, out: PacketFields): DecodeFailure | null {
  switch (linkType) {
    case LinkType.ETHERNET:
      if (data.length < 14) return drop('truncated');
      return fromEtherType(data, 14, (data[12]! << 8) | data[13]!, out);
    case LinkType.LINUX_SLL:
      if (data.length < 16) return drop('truncated');
      return fromEtherType(data, 16, (data[14]! << 8) | data[15]!, out);
    case LinkType.LINUX_SLL2:
      if (data.length < 20) return drop('truncated');
      return fromEtherType(data, 20, (data[0]! << 8) | data[1]!, out);
    case LinkType.RAW:
      if (data.length < 1) return drop('truncated');
      return fromIpVersion(data, 0, data[0]! >> 4, out);
    case LinkType.IPV4:
      return decodeIpv4(data, 0, out);
    case LinkType.IPV6:
      return decodeIpv6(data, 0, out);
    case LinkType.NULL:
      return fromNullHeader(data, out);
    default:
      return drop('unsupported-link');
  }
}

/** Follows VLAN tags from an EtherType at `offset - 2` to the IP header. */
function fromEtherType(
  data: Uint8Array,
  offset: number,
  etherType: number,
  out: PacketFields,
): DecodeFailure | null {
  let type = etherType;
  let o = offset;
  for (let tags = 0; type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ; tags++) {
    if (tags === MAX_VLAN_TAGS) return drop('not-ip');
    if (data.length < o + 4) return drop('truncated');
    type = (data[o + 2]! << 8) | data[o + 3]!;
    o += 4;
  }
  if (type === ETHERTYPE_IPV4) return decodeIpv4(data, o, out);
  if (type === ETHERTYPE_IPV6) return decodeIpv6(data, o, out);
  return drop('not-ip');
}

function fromIpVersion(
  data: Uint8Array,
  offset: number,
  version: number,
  out: PacketFields,
): DecodeFailure | null {
  if (version === 4) return decodeIpv4(data, offset, out);
  if (version === 6) return decodeIpv6(data, offset, out);
  return drop('bad-ip-version');
}

/**
 * BSD loopback: a 4-byte address family in the capturing host's byte order, read both ways.
 * AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (Net/OpenBSD), 28 (FreeBSD) or 30 (macOS).
 */
function fromNullHeader(data: Uint8Array, out: PacketFields): DecodeFailure | null {
  if (data.length < 4) return drop('truncated');
  const le = data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24);
  const be = data[3]! | (data[2]! << 8) | (data[1]! << 16) | (data[0]! << 24);
  if (le === 2 || be === 2) return decodeIpv4(data, 4, out);
  if (isInet6Family(le) || isInet6Family(be)) return decodeIpv6(data, 4, out);
  return drop('not-ip');
}

function isInet6Family(family: number): boolean {
  return family === 10 || family === 24 || family === 28 || family === 30;
}

function transportName(protocol: number): 'tcp' | 'udp' | undefined {
  return protocol === PROTO_TCP ? 'tcp' : protocol === PROTO_UDP ? 'udp' : undefined;
}

function decodeIpv4(data: Uint8Array, o: number, out: PacketFields): DecodeFailure | null {
  if (data.length < o + 1) return drop('truncated');
  const version = data[o]! >> 4;
  if (version !== 4) return drop('bad-ip-version');
  const ihl = data[o]! & 0x0f;
  const haveFixedHeader = data.length >= o + 20;
  if (ihl < 5) {
    const result: DecodeFailure = { ok: false, reason: 'illegal-ip-header-length', ihl };
    if (haveFixedHeader) {
      result.source = ipv4Text(readWord(data, o + 12));
      const protocol = transportName(data[o + 9]!);
      if (protocol !== undefined) result.protocol = protocol;
    }
    return result;
  }
  const headerLength = ihl * 4;
  if (data.length < o + headerLength) return drop('truncated');
  const totalLength = (data[o + 2]! << 8) | data[o + 3]!;
  if (totalLength < headerLength) return drop('truncated');
  const protocol = transportName(data[o + 9]!);
  if (protocol === undefined) return drop('not-tcp-or-udp');
  const fragmentOffset = ((data[o + 6]! & 0x1f) << 8) | data[o + 7]!;
  const moreFragments = (data[o + 6]! & 0x20) !== 0;
  if (fragmentOffset !== 0) {
    return { ok: false, reason: 'fragment', source: ipv4Text(readWord(data, o + 12)), protocol };
  }
  const t = o + headerLength;
  const datagramEnd = o + totalLength;
  const needed = protocol === 'tcp' ? 14 : 8;
  if (t + needed > datagramEnd) {
    if (moreFragments)
      return { ok: false, reason: 'fragment', source: ipv4Text(readWord(data, o + 12)), protocol };
    return drop('truncated');
  }
  if (t + needed > data.length) return drop('truncated');
  setV4Words(out.source, readWord(data, o + 12));
  setV4Words(out.destination, readWord(data, o + 16));
  return transport(data, t, protocol, 4, ihl > 5, out);
}

function decodeIpv6(data: Uint8Array, o: number, out: PacketFields): DecodeFailure | null {
  if (data.length < o + 1) return drop('truncated');
  if (data[o]! >> 4 !== 6) return drop('bad-ip-version');
  if (data.length < o + 40) return drop('truncated');
  const payloadLength = (data[o + 4]! << 8) | data[o + 5]!;
  // Payload length 0 is a jumbogram (RFC 2675) or an empty datagram: only the capture bounds it.
  const declaredEnd = payloadLength === 0 ? Infinity : o + 40 + payloadLength;
  const end = Math.min(data.length, declaredEnd);
  let next = data[o + 6]!;
  let p = o + 40;
  let moreFragments = false;
  for (let headers = 0; next !== PROTO_TCP && next !== PROTO_UDP; headers++) {
    if (headers === MAX_IPV6_HEADERS) return drop('not-tcp-or-udp');
    let length: number;
    if (next === 0 || next === 43 || next === 60) {
      // Hop-by-hop, routing, destination options: length in 8-byte units, not counting the first.
      if (p + 2 > end) return drop('truncated');
      length = (data[p + 1]! + 1) * 8;
    } else if (next === 51) {
      // Authentication header (RFC 4302): length in 4-byte units, not counting the first two.
      if (p + 2 > end) return drop('truncated');
      length = (data[p + 1]! + 2) * 4;
    } else if (next === 44) {
      if (p + 8 > end) return drop('truncated');
      const offset = ((data[p + 2]! << 8) | data[p + 3]!) >> 3;
      if (offset !== 0) return { ok: false, reason: 'fragment', source: ipv6SourceText(data, o + 8) };
      moreFragments = (data[p + 3]! & 1) !== 0;
      length = 8;
    } else {
      return drop('not-tcp-or-udp'); // ESP (50), no next header (59), ICMPv6 and the rest
    }
    if (p + length > end) return drop('truncated');
    next = data[p]!;
    p += length;
  }
  const protocol = next === PROTO_TCP ? 'tcp' : 'udp';
  const needed = protocol === 'tcp' ? 14 : 8;
  if (p + needed > declaredEnd) {
    if (moreFragments)
      return { ok: false, reason: 'fragment', source: ipv6SourceText(data, o + 8), protocol };
    return drop('truncated');
  }
  if (p + needed > data.length) return drop('truncated');
  for (let w = 0; w < 4; w++) {
    out.source[w] = readWord(data, o + 8 + 4 * w);
    out.destination[w] = readWord(data, o + 24 + 4 * w);
  }
  return transport(data, p, protocol, 6, false, out);
}

/** Reads ports and flags at `t`; the caller has checked that 14 (TCP) or 8 (UDP) bytes are there. */
function transport(
  data: Uint8Array,
  t: number,
  protocol: 'tcp' | 'udp',
  family: 4 | 6,
  ipOptions: boolean,
  out: PacketFields,
): DecodeFailure | null {
  let tcpFlags = 0;
  if (protocol === 'tcp') {
    if (data[t + 12]! >> 4 < 5) {
      return { ok: false, reason: 'bad-transport-header', source: addressText(out.source), protocol };
    }
    tcpFlags = data[t + 13]!;
  }
  out.family = family;
  out.protocol = protocol;
  out.sourcePort = (data[t]! << 8) | data[t + 1]!;
  out.destinationPort = (data[t + 2]! << 8) | data[t + 3]!;
  out.tcpFlags = tcpFlags;
  out.ipOptions = ipOptions;
  return null;
}

/** The big-endian 32-bit word at `i` (the caller has checked the bounds). */
function readWord(data: Uint8Array, i: number): number {
  return ((data[i]! << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!) >>> 0;
}

const failureWords = new Uint32Array(4);

/** The text of the IPv6 source at `i`, for the rare failures that name it. */
function ipv6SourceText(data: Uint8Array, i: number): string {
  for (let w = 0; w < 4; w++) failureWords[w] = readWord(data, i + 4 * w);
  return addressText(failureWords);
}
