/**
 * @module test/builders/fuzz
 * A seeded fuzz loop for `decodePacket`: random and mutated frames (bit flips, "interesting" byte
 * values, truncation, splicing, insertions and deletions, pure noise) under every supported link
 * type and a few unsupported ones. It checks the decoder's contract on every input: it never
 * throws, and every decoded packet has canonical addresses of the right family, ports 0-65535 and
 * flags 0-255 (0 for UDP). A violation throws an Error naming the seed, the iteration, the link type
 * and the input in hex, so it can be replayed. Used by the unit tests (with the real captures as
 * corpus) and by benchmarks (millions of iterations).
 */
import { canonicalAddress } from '../../src/net/address.ts';
import { buildTcp, buildUdp, withLinkType } from './packets.ts';
import {
  decodePacket,
  LinkType,
  TcpFlag,
  type DecodedPacket,
  type DropReason,
} from '../../src/packets/decode.ts';

export interface CorpusPacket {
  linkType: number;
  data: Uint8Array;
}

export interface FuzzStats {
  decoded: number;
  dropped: Record<DropReason, number>;
}

const LINK_TYPES: readonly number[] = Object.values(LinkType);
const INTERESTING = [
  0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x0f, 0x11, 0x2c, 0x3b, 0x40, 0x45, 0x4f, 0x60, 0x7f, 0x80, 0x81, 0x86,
  0x88, 0xa8, 0xdd, 0xfe, 0xff,
];
const MAX_LENGTH = 2048;

/** mulberry32: a small, fast 32-bit PRNG; the same seed gives the same sequence everywhere. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Valid TCP and UDP frames over IPv4 and IPv6 (with options and extension headers) in every link type. */
export function syntheticCorpus(): CorpusPacket[] {
  const v4 = {
    family: 4,
    source: '10.1.2.3',
    destination: '10.9.8.7',
    sourcePort: 40000,
    destinationPort: 143,
  } as const;
  const v6 = {
    family: 6,
    source: '2001:db8::1',
    destination: '2001:db8:0:1::2',
    sourcePort: 53,
    destinationPort: 7,
  } as const;
  const frames = [
    buildTcp({ ...v4, flags: TcpFlag.SYN }),
    buildTcp({ ...v4, flags: TcpFlag.FIN | TcpFlag.PSH | TcpFlag.URG, ipOptions: true }),
    buildUdp({ ...v4, payload: Uint8Array.of(1, 2, 3) }),
    buildTcp({ ...v6, flags: 0 }),
    buildUdp({ ...v6, extensionHeaders: [0, 60, 43, 44, 51] }),
    buildTcp({ ...v6, source: '::ffff:192.0.2.1', flags: TcpFlag.SYN | TcpFlag.FIN, extensionHeaders: [0] }),
  ];
  const corpus: CorpusPacket[] = frames.map((data) => ({ linkType: LinkType.ETHERNET, data }));
  corpus.push({
    linkType: LinkType.ETHERNET,
    data: buildTcp({ ...v4, flags: TcpFlag.SYN, vlans: [100, 7] }),
  });
  for (const linkType of LINK_TYPES) {
    if (linkType === LinkType.ETHERNET) continue;
    for (const frame of frames) {
      const family = frame[12] === 0x08 ? 4 : 6;
      if ((linkType === LinkType.IPV4 && family !== 4) || (linkType === LinkType.IPV6 && family !== 6))
        continue;
      corpus.push({ linkType, data: withLinkType(frame, linkType) });
    }
  }
  return corpus;
}

/**
 * Runs `iterations` fuzz cases from `seed` and counts the outcomes. Throws on the first contract
 * violation. `corpus` is the material mutated; it defaults to `syntheticCorpus()`.
 */
export function fuzzDecoder(
  iterations: number,
  seed: number,
  corpus: readonly CorpusPacket[] = syntheticCorpus(),
): FuzzStats {
  if (corpus.length === 0) throw new Error('fuzzDecoder needs a non-empty corpus');
  const random = prng(seed);
  const below = (n: number) => Math.floor(random() * n);
  const scratch = new Uint8Array(MAX_LENGTH);
  const stats: FuzzStats = {
    decoded: 0,
    dropped: {
      truncated: 0,
      'unsupported-link': 0,
      'not-ip': 0,
      'bad-ip-version': 0,
      'illegal-ip-header-length': 0,
      'not-tcp-or-udp': 0,
      fragment: 0,
      'bad-transport-header': 0,
    },
  };

  for (let i = 0; i < iterations; i++) {
    const base = corpus[below(corpus.length)]!;
    let length = Math.min(base.data.length, MAX_LENGTH);
    scratch.set(base.data.subarray(0, length));
    // Byte positions: mostly inside the first 80 bytes, where the headers are.
    const position = () => (length === 0 ? 0 : random() < 0.8 ? below(Math.min(length, 80)) : below(length));

    const rounds = 1 + below(3);
    for (let r = 0; r < rounds; r++) {
      switch (below(8)) {
        case 0: // bit flips
          for (let k = 1 + below(4); k > 0 && length > 0; k--) scratch[position()]! ^= 1 << below(8);
          break;
        case 1: // interesting values
          for (let k = 1 + below(3); k > 0 && length > 0; k--)
            scratch[position()] = INTERESTING[below(INTERESTING.length)]!;
          break;
        case 2: // truncation
          length = below(length + 1);
          break;
        case 3: {
          // splice: our prefix, another packet's suffix
          const other = corpus[below(corpus.length)]!.data;
          const cut = below(length + 1);
          const from = below(other.length + 1);
          const take = Math.min(other.length - from, MAX_LENGTH - cut);
          scratch.set(other.subarray(from, from + take), cut);
          length = cut + take;
          break;
        }
        case 4: {
          // insertion of random bytes
          const at = position();
          const n = Math.min(1 + below(16), MAX_LENGTH - length);
          scratch.copyWithin(at + n, at, length);
          for (let k = 0; k < n; k++) scratch[at + k] = below(256);
          length += n;
          break;
        }
        case 5: {
          // deletion
          const at = position();
          const n = Math.min(1 + below(16), length - at);
          scratch.copyWithin(at, at + n, length);
          length -= n;
          break;
        }
        case 6: // pure noise
          length = below(160);
          for (let k = 0; k < length; k++) scratch[k] = below(256);
          break;
        default: // unchanged
          break;
      }
    }

    const pick = random();
    const linkType =
      pick < 0.85 ? base.linkType : pick < 0.97 ? LINK_TYPES[below(LINK_TYPES.length)]! : below(300);
    const data = scratch.subarray(0, length);
    let problem: string | undefined;
    try {
      const result = decodePacket(linkType, data);
      if (result.ok) {
        problem = violation(result.packet);
        stats.decoded++;
      } else {
        stats.dropped[result.reason]++;
      }
    } catch (err) {
      problem = `threw ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    }
    if (problem !== undefined) {
      const hex = Buffer.from(data).toString('hex');
      throw new Error(
        `fuzzDecoder seed ${seed} iteration ${i} link type ${linkType}: ${problem}; input ${hex}`,
      );
    }
  }
  return stats;
}

/** What is wrong with a decoded packet, or undefined. */
function violation(p: DecodedPacket): string | undefined {
  if (p.family !== 4 && p.family !== 6) return `bad family ${String(p.family)}`;
  for (const address of [p.source, p.destination]) {
    if (canonicalAddress(address) !== address) return `non-canonical address ${JSON.stringify(address)}`;
    if (p.family === 4 && address.includes(':')) return `IPv6 address ${address} in an IPv4 packet`;
  }
  for (const port of [p.sourcePort, p.destinationPort]) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) return `bad port ${port}`;
  }
  if (p.protocol !== 'tcp' && p.protocol !== 'udp') return `bad protocol ${String(p.protocol)}`;
  if (!Number.isInteger(p.tcpFlags) || p.tcpFlags < 0 || p.tcpFlags > 255) return `bad flags ${p.tcpFlags}`;
  if (p.protocol === 'udp' && p.tcpFlags !== 0) return `UDP packet with flags ${p.tcpFlags}`;
  if (p.family === 6 && p.ipOptions) return 'IPv6 packet with ipOptions';
  return undefined;
}
