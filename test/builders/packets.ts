/**
 * @module test/builders/packets
 * A small packet builder for tests and benchmarks: Ethernet frames carrying IPv4 or IPv6 and a
 * TCP or UDP header, with correct IPv4 header checksums and TCP/UDP checksums, so that replays
 * (tcpreplay, a packet socket) are accepted by a receiving kernel. Options cover what the decoder's
 * tests need: IPv4 options, IPv6 extension headers, VLAN tags, a payload. `withLinkType` rewraps a
 * built frame in another capture link layer (raw IP, BSD loopback, Linux cooked v1/v2).
 *
 * Not a hot path: addresses are parsed with ipaddr.js on every call.
 */
import ipaddr from 'ipaddr.js';
import { LinkType } from '../../src/packets/decode.ts';

export interface PacketSpec {
  family: 4 | 6;
  source: string;
  destination: string;
  sourcePort: number;
  destinationPort: number;
  /**
   * IPv4 only. `true` adds an 8-byte Record Route option (IHL 7, as `hping3 --rroute` or
   * `nmap --ip-options R` do, shorter); bytes are used as given, padded with EOL to 4-byte words.
   */
  ipOptions?: boolean | Uint8Array;
  /**
   * IPv6 only: extension headers in order, by next-header number: 0 hop-by-hop, 43 routing
   * (type 253, no segments left), 44 fragment (offset 0, no more fragments), 51 authentication,
   * 60 destination options. Each is the smallest valid header of its kind.
   */
  extensionHeaders?: readonly number[];
  /** 802.1Q VLAN ids, outermost first. */
  vlans?: readonly number[];
  payload?: Uint8Array;
  /** IPv4 TTL / IPv6 hop limit. Default 64. */
  ttl?: number;
  sourceMac?: string;
  destinationMac?: string;
}

export interface TcpSpec extends PacketSpec {
  /** `TcpFlag` bits. */
  flags: number;
  seq?: number;
  ack?: number;
  window?: number;
}

const DEFAULT_SOURCE_MAC = '02:00:00:00:00:01';
const DEFAULT_DESTINATION_MAC = '02:00:00:00:00:02';

/** An Ethernet frame with one TCP segment (a 20-byte header, no TCP options). */
export function buildTcp(spec: TcpSpec): Uint8Array {
  const header = new Uint8Array(20);
  header[12] = 5 << 4; // data offset: 5 words
  header[13] = spec.flags & 0xff;
  const view = new DataView(header.buffer);
  view.setUint32(4, (spec.seq ?? 0x01020304) >>> 0);
  view.setUint32(8, (spec.ack ?? 0) >>> 0);
  view.setUint16(14, spec.window ?? 1024);
  return buildFrame(spec, 6, header, 16);
}

/** An Ethernet frame with one UDP datagram. */
export function buildUdp(spec: PacketSpec): Uint8Array {
  const header = new Uint8Array(8);
  new DataView(header.buffer).setUint16(4, 8 + (spec.payload?.length ?? 0));
  return buildFrame(spec, 17, header, 6);
}

/** Assembles Ethernet + IP + `transport` + payload and fills in ports and checksums. */
function buildFrame(
  spec: PacketSpec,
  protocol: number,
  transport: Uint8Array,
  checksumAt: number,
): Uint8Array {
  checkPort(spec.sourcePort);
  checkPort(spec.destinationPort);
  const payload = spec.payload ?? new Uint8Array(0);
  const segment = concat([transport, payload]);
  const view = new DataView(segment.buffer);
  view.setUint16(0, spec.sourcePort);
  view.setUint16(2, spec.destinationPort);
  const source = addressBytes(spec.source, spec.family);
  const destination = addressBytes(spec.destination, spec.family);
  const pseudo = new Uint8Array(spec.family === 4 ? 12 : 40);
  pseudo.set(source, 0);
  pseudo.set(destination, source.length);
  const pv = new DataView(pseudo.buffer);
  if (spec.family === 4) {
    pv.setUint8(9, protocol);
    pv.setUint16(10, segment.length);
  } else {
    pv.setUint32(32, segment.length);
    pv.setUint8(39, protocol);
  }
  let sum = checksum(concat([pseudo, segment]));
  if (sum === 0 && protocol === 17) sum = 0xffff; // UDP: 0 means "no checksum"
  view.setUint16(checksumAt, sum);

  const ip =
    spec.family === 4
      ? ipv4Header(spec, protocol, source, destination, segment.length)
      : ipv6Headers(spec, protocol, source, destination, segment.length);
  const link = new Uint8Array(14 + 4 * (spec.vlans?.length ?? 0));
  link.set(macBytes(spec.destinationMac ?? DEFAULT_DESTINATION_MAC), 0);
  link.set(macBytes(spec.sourceMac ?? DEFAULT_SOURCE_MAC), 6);
  const lv = new DataView(link.buffer);
  let o = 12;
  for (const vlan of spec.vlans ?? []) {
    if (!Number.isInteger(vlan) || vlan < 0 || vlan > 4095) throw new RangeError(`bad VLAN id ${vlan}`);
    lv.setUint16(o, 0x8100);
    lv.setUint16(o + 2, vlan);
    o += 4;
  }
  lv.setUint16(o, spec.family === 4 ? 0x0800 : 0x86dd);
  return concat([link, ip, segment]);
}

function ipv4Header(
  spec: PacketSpec,
  protocol: number,
  source: Uint8Array,
  destination: Uint8Array,
  segmentLength: number,
): Uint8Array {
  let options: Uint8Array = new Uint8Array(0);
  if (spec.ipOptions === true) options = Uint8Array.of(7, 7, 4, 0, 0, 0, 0, 0);
  else if (spec.ipOptions instanceof Uint8Array) options = spec.ipOptions;
  const optionsLength = Math.ceil(options.length / 4) * 4;
  if (optionsLength > 40) throw new RangeError(`IPv4 options too long: ${options.length} bytes`);
  const header = new Uint8Array(20 + optionsLength);
  const view = new DataView(header.buffer);
  header[0] = 0x40 | (header.length / 4);
  view.setUint16(2, header.length + segmentLength);
  view.setUint16(4, 0x1234); // identification
  header[8] = spec.ttl ?? 64;
  header[9] = protocol;
  header.set(source, 12);
  header.set(destination, 16);
  header.set(options, 20);
  view.setUint16(10, checksum(header));
  return header;
}

function ipv6Headers(
  spec: PacketSpec,
  protocol: number,
  source: Uint8Array,
  destination: Uint8Array,
  segmentLength: number,
): Uint8Array {
  if (spec.ipOptions) throw new Error('ipOptions applies to IPv4 only');
  const types = spec.extensionHeaders ?? [];
  const extensions = types.map((type, i) => extensionHeader(type, types[i + 1] ?? protocol));
  const extensionLength = extensions.reduce((n, e) => n + e.length, 0);
  const header = new Uint8Array(40);
  const view = new DataView(header.buffer);
  header[0] = 0x60;
  view.setUint16(4, extensionLength + segmentLength);
  header[6] = types[0] ?? protocol;
  header[7] = spec.ttl ?? 64;
  header.set(source, 8);
  header.set(destination, 24);
  return concat([header, ...extensions]);
}

function extensionHeader(type: number, next: number): Uint8Array {
  switch (type) {
    case 0:
    case 60:
      return Uint8Array.of(next, 0, 1, 4, 0, 0, 0, 0); // one PadN option filling 8 bytes
    case 43:
      return Uint8Array.of(next, 0, 253, 0, 0, 0, 0, 0); // experimental type, 0 segments left
    case 44:
      return Uint8Array.of(next, 0, 0, 0, 0, 0, 0x12, 0x34); // atomic fragment
    case 51:
      return Uint8Array.of(next, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1); // 12 bytes: SPI 256, seq 1, no ICV
    default:
      throw new Error(`unsupported IPv6 extension header ${type}`);
  }
}

/** Rewraps an untagged Ethernet frame from `buildTcp`/`buildUdp` in another link layer. */
export function withLinkType(frame: Uint8Array, linkType: number): Uint8Array {
  const etherType = (frame[12]! << 8) | frame[13]!;
  if (etherType !== 0x0800 && etherType !== 0x86dd)
    throw new Error('withLinkType needs an untagged IP frame');
  const ip = frame.subarray(14);
  switch (linkType) {
    case LinkType.ETHERNET:
      return frame.slice();
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6:
      return ip.slice();
    case LinkType.NULL:
      return concat([Uint8Array.of(etherType === 0x0800 ? 2 : 10, 0, 0, 0), ip]);
    case LinkType.LINUX_SLL: {
      // packet type 0 (to us), ARPHRD_ETHER, address length 6, the source MAC padded to 8, protocol
      const header = Uint8Array.of(0, 0, 0, 1, 0, 6, ...frame.subarray(6, 12), 0, 0, frame[12]!, frame[13]!);
      return concat([header, ip]);
    }
    case LinkType.LINUX_SLL2: {
      // protocol, reserved, interface index 1, ARPHRD_ETHER, packet type 0, address length 6, address
      const header = Uint8Array.of(
        frame[12]!,
        frame[13]!,
        0,
        0,
        0,
        0,
        0,
        1,
        0,
        1,
        0,
        6,
        ...frame.subarray(6, 12),
        0,
        0,
      );
      return concat([header, ip]);
    }
    default:
      throw new Error(`unsupported link type ${linkType}`);
  }
}

/** The Internet checksum (RFC 1071) of `bytes`. */
export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function addressBytes(text: string, family: 4 | 6): Uint8Array {
  const kind = family === 4 ? 'ipv4' : 'ipv6';
  if (!ipaddr.isValid(text) || ipaddr.parse(text).kind() !== kind) {
    throw new Error(`"${text}" is not an IPv${family} address`);
  }
  return Uint8Array.from(ipaddr.parse(text).toByteArray());
}

function macBytes(text: string): Uint8Array {
  const parts = text.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-f]{2}$/i.test(p)))
    throw new Error(`bad MAC address ${text}`);
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`bad port ${port}`);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
