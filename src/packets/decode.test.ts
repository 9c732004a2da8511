// Tests of packets/decode: real captures (test/fixtures/pcap, recorded by scripts/record-fixtures.sh),
// hand-made hostile frames, RFC 5952 equivalence with net/address, and a seeded fuzz run
// (PORTSNARE_FUZZ_SEED=n reproduces a failure; the error names the seed and the input).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { canonicalAddress } from '../net/address.ts';
import { buildTcp, buildUdp, withLinkType } from '../../test/builders/packets.ts';
import { decodePacket, LinkType, TcpFlag, type DecodedPacket, type DecodeResult } from './decode.ts';
import { fuzzDecoder, syntheticCorpus, type CorpusPacket } from '../../test/builders/fuzz.ts';
import { readPcap } from './pcap-file.ts';

const { FIN, SYN, RST, PSH, ACK, URG } = TcpFlag;
const FIXTURES = new URL('../../test/fixtures/pcap/', import.meta.url);
const PORTS = [143, 7777];
const NMAP_SOURCE_PORT = 40123;

function fixture(name: string) {
  const pcap = readPcap(readFileSync(new URL(`${name}.pcap`, FIXTURES)));
  return { ...pcap, frames: [...pcap.packets].map((p) => p.data) };
}

/** The scanner (.1) and target (.2) addresses of a subnet of the recording script. */
function hosts(family: 4 | 6, net: number): [string, string] {
  const prefix = family === 4 ? `10.77.${net}.` : net === 0 ? '2001:db8:77::' : `2001:db8:77:${net}::`;
  return [`${prefix}1`, `${prefix}2`];
}

interface Capture {
  file: string;
  linkType: number;
  families: (4 | 6)[];
  net?: number;
  protocol: 'tcp' | 'udp';
  flags: number;
  ports?: number[];
  /** Fixed source port of the probes; undefined: the kernel's ephemeral ports. */
  sourcePort?: number;
  ipOptions?: boolean;
  /** Flags of the target's TCP answers; 'icmp' for port-unreachables; undefined: no answers. */
  reply?: number | 'icmp';
}

const SCANS: [string, 'tcp' | 'udp', number, number | 'icmp'][] = [
  ['sS', 'tcp', SYN, RST | ACK],
  ['sF', 'tcp', FIN, RST | ACK],
  ['sN', 'tcp', 0, RST | ACK],
  ['sX', 'tcp', FIN | PSH | URG, RST | ACK],
  ['sU', 'udp', 0, 'icmp'],
  ['sT', 'tcp', SYN, RST | ACK],
  ['sA', 'tcp', ACK, RST],
];

const CAPTURES: Capture[] = [
  ...SCANS.flatMap(([scan, protocol, flags, reply]) =>
    ([4, 6] as const).map((family): Capture => ({
      file: `ipv${family}-nmap-${scan}`,
      linkType: LinkType.ETHERNET,
      families: [family],
      protocol,
      flags,
      reply,
      ...(scan === 'sT' ? {} : { sourcePort: NMAP_SOURCE_PORT }),
    })),
  ),
  {
    file: 'ipv4-nmap-ip-options',
    linkType: LinkType.ETHERNET,
    families: [4],
    protocol: 'tcp',
    flags: SYN,
    sourcePort: NMAP_SOURCE_PORT,
    ipOptions: true,
    reply: RST | ACK,
  },
  {
    file: 'ipv4-hping3-syn-fin',
    linkType: LinkType.ETHERNET,
    families: [4],
    protocol: 'tcp',
    flags: SYN | FIN,
    ports: [143],
    sourcePort: NMAP_SOURCE_PORT,
    reply: RST | ACK,
  },
  ...(
    [
      ['any-linux-sll2', LinkType.LINUX_SLL2],
      ['any-linux-sll', LinkType.LINUX_SLL],
    ] as const
  ).map(([file, linkType]): Capture => ({
    file,
    linkType,
    families: [4, 6],
    protocol: 'tcp',
    flags: SYN,
    sourcePort: NMAP_SOURCE_PORT,
    reply: RST | ACK,
  })),
  ...[
    ['vlan-8021q', 7],
    ['vlan-qinq', 107],
  ].map(([file, net]): Capture => ({
    file: file as string,
    linkType: LinkType.ETHERNET,
    families: [4, 6],
    net: net as number,
    protocol: 'tcp',
    flags: SYN,
    sourcePort: NMAP_SOURCE_PORT,
  })),
];

for (const c of CAPTURES) {
  test(`real capture ${c.file}: ${c.protocol} flags ${c.flags} over IPv${c.families.join('+IPv')}`, () => {
    const { linkType, frames } = fixture(c.file);
    assert.equal(linkType, c.linkType);
    const results = frames.map((f) => decodePacket(linkType, f));
    // Everything else in the captures is ICMP: neighbour discovery, MLD (behind a hop-by-hop
    // header), port-unreachables.
    for (const r of results) if (!r.ok) assert.equal(r.reason, 'not-tcp-or-udp');
    const decoded = results.flatMap((r) => (r.ok ? [r.packet] : []));
    const ports = c.ports ?? PORTS;
    let expected = 0;
    for (const family of c.families) {
      const [scanner, target] = hosts(family, c.net ?? 0);
      const probes = decoded.filter((p) => p.source === scanner);
      assert.deepEqual(
        probes.map((p) => p.destinationPort).sort((a, b) => a - b),
        ports,
        `IPv${family} probes`,
      );
      for (const p of probes) {
        assert.deepEqual({ ...p, sourcePort: 0, destinationPort: 0 }, {
          family,
          source: scanner,
          destination: target,
          protocol: c.protocol,
          sourcePort: 0,
          destinationPort: 0,
          tcpFlags: c.flags,
          ipOptions: c.ipOptions ?? false,
        } satisfies DecodedPacket);
        if (c.sourcePort !== undefined) assert.equal(p.sourcePort, c.sourcePort);
        else assert.ok(p.sourcePort >= 1024, `ephemeral source port ${p.sourcePort}`);
      }
      const replies = decoded.filter((p) => p.source === target);
      if (typeof c.reply === 'number') {
        assert.equal(replies.length, probes.length, `IPv${family} replies`);
        for (const r of replies) {
          assert.equal(r.tcpFlags, c.reply);
          assert.equal(r.destination, scanner);
          assert.ok(ports.includes(r.sourcePort));
          assert.ok(
            probes.some((p) => p.sourcePort === r.destinationPort && p.destinationPort === r.sourcePort),
          );
          assert.equal(r.ipOptions, c.ipOptions ?? false, 'the target echoes the record-route option');
        }
      } else {
        assert.equal(replies.length, 0);
      }
      expected += probes.length + replies.length;
    }
    assert.equal(decoded.length, expected, 'no TCP/UDP packet besides the probes and the answers');
    if (c.reply === 'icmp') {
      const dropped = results.filter((r) => !r.ok).length;
      assert.ok(dropped >= ports.length * c.families.length, 'the port-unreachables are not TCP or UDP');
    }
  });
}

test('real VLAN captures carry their tags: 802.1Q 7, and 802.1ad 100 outside 802.1Q 7', () => {
  const u16 = (f: Uint8Array, i: number) => (f[i]! << 8) | f[i + 1]!;
  for (const [file, tags] of [
    ['vlan-8021q', [[0x8100, 7]]],
    [
      'vlan-qinq',
      [
        [0x88a8, 100],
        [0x8100, 7],
      ],
    ],
  ] as const) {
    const { frames } = fixture(file);
    assert.ok(frames.length > 0);
    for (const frame of frames) {
      tags.forEach(([tpid, vid], i) => {
        assert.equal(u16(frame, 12 + 4 * i), tpid, file);
        assert.equal(u16(frame, 14 + 4 * i) & 0xfff, vid, file);
      });
    }
  }
});

// ---- hand-made frames -------------------------------------------------------------------------

const V4 = {
  family: 4,
  source: '192.0.2.10',
  destination: '198.51.100.20',
  sourcePort: 40000,
  destinationPort: 143,
} as const;
const V6 = {
  family: 6,
  source: '2001:db8::a',
  destination: '2001:db8:1::14',
  sourcePort: 5353,
  destinationPort: 7,
} as const;
const ALL_LINKS = Object.values(LinkType);

const ok = (r: DecodeResult): DecodedPacket => {
  assert.ok(r.ok, `expected a packet, got ${JSON.stringify(r)}`);
  return r.packet;
};

test('built frames decode in every link type that can carry them', () => {
  const tcp4 = buildTcp({ ...V4, flags: SYN | ACK, ipOptions: true });
  const udp6 = buildUdp({ ...V6, extensionHeaders: [0, 60, 43, 44, 51, 60] });
  for (const linkType of ALL_LINKS) {
    if (linkType !== LinkType.IPV6) {
      assert.deepEqual(ok(decodePacket(linkType, withLinkType(tcp4, linkType))), {
        ...V4,
        protocol: 'tcp',
        tcpFlags: SYN | ACK,
        ipOptions: true,
      });
    }
    if (linkType !== LinkType.IPV4) {
      assert.deepEqual(ok(decodePacket(linkType, withLinkType(udp6, linkType))), {
        ...V6,
        protocol: 'udp',
        tcpFlags: 0,
        ipOptions: false,
      });
    }
  }
});

test('every truncation point: short of the needed bytes is "truncated", from there on it decodes', () => {
  const frames = [
    { frame: buildTcp({ ...V4, flags: FIN }), slack: 6 }, // TCP needs 14 of its 20 bytes
    { frame: buildTcp({ ...V4, flags: SYN, ipOptions: true }), slack: 6 },
    { frame: buildUdp({ ...V6, extensionHeaders: [0, 43, 60, 44, 51] }), slack: 0 },
    { frame: buildTcp({ ...V6, flags: 0, extensionHeaders: [60] }), slack: 6 },
  ];
  for (const { frame, slack } of frames) {
    for (const linkType of ALL_LINKS) {
      const isV4 = frame[12] === 0x08;
      if ((linkType === LinkType.IPV4 && !isV4) || (linkType === LinkType.IPV6 && isV4)) continue;
      const data = withLinkType(frame, linkType);
      const whole = decodePacket(linkType, data);
      ok(whole);
      // A view into a larger buffer whose tail is the rest of the valid frame: nothing past the
      // view's end may be read.
      for (let n = 0; n < data.length; n++) {
        const r = decodePacket(linkType, data.subarray(0, n));
        if (n < data.length - slack)
          assert.deepEqual(r, { ok: false, reason: 'truncated' }, `link ${linkType} n ${n}`);
        else assert.deepEqual(r, whole, `link ${linkType} n ${n}`);
      }
    }
  }
});

test('zero-length data: truncated for every link type, unsupported-link for unknown ones', () => {
  for (const linkType of ALL_LINKS)
    assert.deepEqual(decodePacket(linkType, new Uint8Array(0)), { ok: false, reason: 'truncated' });
  for (const linkType of [-1, 2, 105, 127, 65535, 0x7fffffff]) {
    assert.deepEqual(decodePacket(linkType, buildTcp({ ...V4, flags: SYN })), {
      ok: false,
      reason: 'unsupported-link',
    });
  }
});

test('IHL 0-4 is an illegal header length, reported with ihl, source and the TCP/UDP protocol', () => {
  for (let ihl = 0; ihl <= 4; ihl++) {
    const tcp = buildTcp({ ...V4, flags: SYN });
    tcp[14] = 0x40 | ihl;
    assert.deepEqual(decodePacket(LinkType.ETHERNET, tcp), {
      ok: false,
      reason: 'illegal-ip-header-length',
      ihl,
      source: V4.source,
      protocol: 'tcp',
    });
    const udp = buildUdp(V4);
    udp[14] = 0x40 | ihl;
    assert.equal((decodePacket(LinkType.ETHERNET, udp) as { protocol?: string }).protocol, 'udp');
    const icmp = buildUdp(V4);
    icmp[14] = 0x40 | ihl;
    icmp[14 + 9] = 1;
    assert.deepEqual(decodePacket(LinkType.ETHERNET, icmp), {
      ok: false,
      reason: 'illegal-ip-header-length',
      ihl,
      source: V4.source,
    });
    // Without the 20-byte fixed header there is no source to name.
    assert.deepEqual(decodePacket(LinkType.IPV4, Uint8Array.of(0x40 | ihl, 0, 0, 40)), {
      ok: false,
      reason: 'illegal-ip-header-length',
      ihl,
    });
  }
  const fifteen = buildTcp({ ...V4, flags: SYN, ipOptions: new Uint8Array(40) });
  assert.equal(ok(decodePacket(LinkType.ETHERNET, fifteen)).ipOptions, true, 'IHL 15 is legal');
});

/** An IPv4 frame from `buildTcp`/`buildUdp` with header fields rewritten. */
function patchV4(frame: Uint8Array, fields: { totalLength?: number; flagsAndOffset?: number }): Uint8Array {
  const f = frame.slice();
  const view = new DataView(f.buffer);
  if (fields.totalLength !== undefined) view.setUint16(14 + 2, fields.totalLength);
  if (fields.flagsAndOffset !== undefined) view.setUint16(14 + 6, fields.flagsAndOffset);
  return f;
}

test('IPv4 lengths and fragments', () => {
  const syn = buildTcp({ ...V4, flags: SYN });
  const drop = (reason: string, extra = {}) => ({ ok: false, reason, ...extra });
  assert.deepEqual(decodePacket(LinkType.ETHERNET, patchV4(syn, { totalLength: 19 })), drop('truncated'));
  assert.deepEqual(decodePacket(LinkType.ETHERNET, patchV4(syn, { totalLength: 0 })), drop('truncated'));
  assert.deepEqual(decodePacket(LinkType.ETHERNET, patchV4(syn, { totalLength: 30 })), drop('truncated'));
  // Ethernet padding after the datagram is not part of it, and is harmless.
  ok(decodePacket(LinkType.ETHERNET, Uint8Array.from([...syn, 0, 0, 0, 0, 0, 0])));
  const fragment = { source: V4.source, protocol: 'tcp' };
  assert.deepEqual(
    decodePacket(LinkType.ETHERNET, patchV4(syn, { flagsAndOffset: 1 })),
    drop('fragment', fragment),
  );
  assert.deepEqual(
    decodePacket(LinkType.ETHERNET, patchV4(syn, { flagsAndOffset: 0x2000 | 0x1fff })),
    drop('fragment', fragment),
  );
  // A first fragment (MF set, offset 0) with the whole transport header decodes; a tiny one does not.
  assert.equal(ok(decodePacket(LinkType.ETHERNET, patchV4(syn, { flagsAndOffset: 0x2000 }))).tcpFlags, SYN);
  assert.equal(
    ok(decodePacket(LinkType.ETHERNET, patchV4(syn, { flagsAndOffset: 0x4000 }))).tcpFlags,
    SYN,
    'DF',
  );
  assert.deepEqual(
    decodePacket(LinkType.ETHERNET, patchV4(syn, { totalLength: 28, flagsAndOffset: 0x2000 })),
    drop('fragment', fragment),
  );
  const icmpFragment = patchV4(syn, { flagsAndOffset: 8 });
  icmpFragment[14 + 9] = 1;
  assert.deepEqual(decodePacket(LinkType.ETHERNET, icmpFragment), drop('not-tcp-or-udp'));
});

test('TCP data offset below 5 is a bad transport header; UDP needs only its 8 bytes', () => {
  for (let offset = 0; offset < 5; offset++) {
    const syn = buildTcp({ ...V6, flags: SYN });
    syn[14 + 40 + 12] = offset << 4;
    assert.deepEqual(decodePacket(LinkType.ETHERNET, syn), {
      ok: false,
      reason: 'bad-transport-header',
      source: V6.source,
      protocol: 'tcp',
    });
  }
  assert.equal(ok(decodePacket(LinkType.ETHERNET, buildUdp(V4))).destinationPort, V4.destinationPort);
});

test('link layers: EtherTypes, BSD loopback families in both byte orders, version mismatches', () => {
  const v4 = buildTcp({ ...V4, flags: SYN });
  const v6 = buildTcp({ ...V6, flags: SYN });
  const arp = v4.slice();
  arp[12] = 0x08;
  arp[13] = 0x06;
  assert.deepEqual(decodePacket(LinkType.ETHERNET, arp), { ok: false, reason: 'not-ip' });
  const ieee8023 = v4.slice();
  ieee8023[12] = 0x00;
  ieee8023[13] = 0x40;
  assert.deepEqual(decodePacket(LinkType.ETHERNET, ieee8023), { ok: false, reason: 'not-ip' });
  const ip4 = v4.subarray(14);
  const ip6 = v6.subarray(14);
  const loop = (header: number[], ip: Uint8Array) =>
    decodePacket(LinkType.NULL, Uint8Array.from([...header, ...ip]));
  assert.equal(ok(loop([2, 0, 0, 0], ip4)).family, 4);
  assert.equal(ok(loop([0, 0, 0, 2], ip4)).family, 4);
  for (const af of [10, 24, 28, 30]) {
    assert.equal(ok(loop([af, 0, 0, 0], ip6)).source, V6.source);
    assert.equal(ok(loop([0, 0, 0, af], ip6)).source, V6.source);
  }
  assert.deepEqual(loop([7, 0, 0, 0], ip4), { ok: false, reason: 'not-ip' });
  assert.deepEqual(loop([2, 0, 0, 0], ip6), { ok: false, reason: 'bad-ip-version' });
  assert.deepEqual(decodePacket(LinkType.IPV4, ip6), { ok: false, reason: 'bad-ip-version' });
  assert.deepEqual(decodePacket(LinkType.IPV6, ip4), { ok: false, reason: 'bad-ip-version' });
  const v5 = ip4.slice();
  v5[0] = 0x55;
  assert.deepEqual(decodePacket(LinkType.RAW, v5), { ok: false, reason: 'bad-ip-version' });
  const mislabelled = v6.slice();
  mislabelled[13] = 0x00; // EtherType 0x8600
  assert.deepEqual(decodePacket(LinkType.ETHERNET, mislabelled), { ok: false, reason: 'not-ip' });
  const wrongVersion = v4.slice();
  wrongVersion[12] = 0x86;
  wrongVersion[13] = 0xdd;
  assert.deepEqual(decodePacket(LinkType.ETHERNET, wrongVersion), { ok: false, reason: 'bad-ip-version' });
});

test('VLAN tags: stacked 802.1Q/802.1ad decode up to 8 deep; 9 or 100 deep is not IP', () => {
  for (const depth of [1, 2, 8]) {
    assert.equal(
      ok(
        decodePacket(LinkType.ETHERNET, buildTcp({ ...V4, flags: SYN, vlans: Array<number>(depth).fill(7) })),
      ).tcpFlags,
      SYN,
    );
  }
  for (const depth of [9, 100]) {
    const frame = buildTcp({ ...V6, flags: SYN, vlans: Array<number>(depth).fill(4095) });
    assert.deepEqual(decodePacket(LinkType.ETHERNET, frame), { ok: false, reason: 'not-ip' });
  }
  const qinq = buildUdp({ ...V6, vlans: [100, 7] });
  qinq[12] = 0x88;
  qinq[13] = 0xa8;
  assert.equal(ok(decodePacket(LinkType.ETHERNET, qinq)).source, V6.source);
  const sll = withLinkType(buildUdp(V4), LinkType.LINUX_SLL);
  const tagged = Uint8Array.from([...sll.subarray(0, 14), 0x81, 0x00, 0, 7, 0x08, 0x00, ...sll.subarray(16)]);
  assert.equal(
    ok(decodePacket(LinkType.LINUX_SLL, tagged)).source,
    V4.source,
    'libpcap re-inserts tags in cooked captures too',
  );
});

/** Ethernet + IPv6 header (payload length from `rest`) + `rest`, first next header `next`. */
function ipv6Frame(next: number, rest: number[], payloadLength = rest.length): Uint8Array {
  const frame = buildUdp(V6).slice(0, 14 + 40);
  new DataView(frame.buffer).setUint16(14 + 4, payloadLength);
  frame[14 + 6] = next;
  return Uint8Array.from([...frame, ...rest]);
}
const UDP_HEADER = [0x13, 0x89, 0, 7, 0, 8, 0, 0];

test('IPv6 extension headers: chains, lengths, AH, ESP, no-next-header, jumbograms', () => {
  const chain = (n: number) => buildUdp({ ...V6, extensionHeaders: Array<number>(n).fill(60) });
  assert.equal(ok(decodePacket(LinkType.ETHERNET, chain(16))).protocol, 'udp');
  assert.deepEqual(decodePacket(LinkType.ETHERNET, chain(17)), { ok: false, reason: 'not-tcp-or-udp' });
  // A hop-by-hop header that names itself as the next header, again and again to the end of a
  // 1500-byte packet: bounded, not walked 180 times.
  const loop = Array.from({ length: 182 }, () => [0, 0, 1, 4, 0, 0, 0, 0]).flat();
  assert.deepEqual(decodePacket(LinkType.ETHERNET, ipv6Frame(0, loop)), {
    ok: false,
    reason: 'not-tcp-or-udp',
  });
  // Header lengths that run past the capture or past the payload length.
  assert.deepEqual(
    decodePacket(LinkType.ETHERNET, ipv6Frame(60, [17, 255, 0, 0, 0, 0, 0, 0, ...UDP_HEADER])),
    {
      ok: false,
      reason: 'truncated',
    },
  );
  assert.deepEqual(
    decodePacket(LinkType.ETHERNET, ipv6Frame(60, [17, 0, 1, 4, 0, 0, 0, 0, ...UDP_HEADER], 12)),
    {
      ok: false,
      reason: 'truncated',
    },
  );
  // AH counts 4-byte units beyond the first two: length 1 is 12 bytes.
  const ah = [17, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  assert.equal(ok(decodePacket(LinkType.ETHERNET, ipv6Frame(51, [...ah, ...UDP_HEADER]))).destinationPort, 7);
  for (const stop of [50, 59, 58]) {
    assert.deepEqual(decodePacket(LinkType.ETHERNET, ipv6Frame(stop, [...UDP_HEADER])), {
      ok: false,
      reason: 'not-tcp-or-udp',
    });
  }
  // Payload length 0 (jumbogram, RFC 2675): the capture's length bounds the datagram.
  const jumbo = [17, 0, 0xc2, 4, 0, 1, 0, 0, ...UDP_HEADER];
  assert.equal(ok(decodePacket(LinkType.ETHERNET, ipv6Frame(0, jumbo, 0))).protocol, 'udp');
});

test('IPv6 fragments: offset > 0 is a fragment; offset 0 decodes when the transport header is whole', () => {
  const fragmentHeader = (offset: number, more: boolean) => [
    17,
    0,
    offset >> 5,
    ((offset << 3) & 0xff) | (more ? 1 : 0),
    0,
    0,
    0,
    1,
  ];
  assert.deepEqual(
    decodePacket(LinkType.ETHERNET, ipv6Frame(44, [...fragmentHeader(1, true), ...UDP_HEADER])),
    {
      ok: false,
      reason: 'fragment',
      source: V6.source,
    },
  );
  assert.deepEqual(decodePacket(LinkType.ETHERNET, ipv6Frame(44, fragmentHeader(8191, false))), {
    ok: false,
    reason: 'fragment',
    source: V6.source,
  });
  assert.equal(
    ok(decodePacket(LinkType.ETHERNET, ipv6Frame(44, [...fragmentHeader(0, true), ...UDP_HEADER]))).protocol,
    'udp',
  );
  assert.equal(
    ok(decodePacket(LinkType.ETHERNET, ipv6Frame(44, [...fragmentHeader(0, false), ...UDP_HEADER]))).protocol,
    'udp',
  );
  assert.deepEqual(
    decodePacket(LinkType.ETHERNET, ipv6Frame(44, [...fragmentHeader(0, true), 0x13, 0x89, 0, 7])),
    {
      ok: false,
      reason: 'fragment',
      source: V6.source,
      protocol: 'udp',
    },
  );
  assert.deepEqual(
    decodePacket(LinkType.ETHERNET, ipv6Frame(44, [...fragmentHeader(0, false), 0x13, 0x89, 0, 7])),
    {
      ok: false,
      reason: 'truncated',
    },
  );
});

// ---- addresses --------------------------------------------------------------------------------

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

test('IPv6 text equals canonicalAddress on 20,000 random addresses (zero runs, mapped, compatible)', () => {
  const random = seeded(20250101);
  const header = buildUdp(V6).slice(14);
  for (let i = 0; i < 20_000; i++) {
    const groups = Array.from({ length: 8 }, () => {
      const r = random();
      return r < 0.45
        ? 0
        : r < 0.5
          ? 0xffff
          : r < 0.7
            ? Math.floor(random() * 16)
            : Math.floor(random() * 65536);
    });
    const shape = random();
    if (shape < 0.1)
      groups.splice(0, 6, 0, 0, 0, 0, 0, 0xffff); // IPv4-mapped
    else if (shape < 0.15)
      groups.splice(0, 6, 0, 0, 0, 0, 0, 0); // IPv4-compatible
    else if (shape < 0.18) groups.splice(0, 6, 0, 0, 0, 0, 0xffff, 0); // IPv4-translated
    const packet = header.slice();
    groups.forEach((g, k) => {
      packet[8 + 2 * k] = g >> 8;
      packet[9 + 2 * k] = g & 0xff;
      packet[24 + 2 * k] = groups[7 - k]! >> 8;
      packet[25 + 2 * k] = groups[7 - k]! & 0xff;
    });
    const full = groups.map((g) => g.toString(16)).join(':');
    const reversed = [...groups]
      .reverse()
      .map((g) => g.toString(16))
      .join(':');
    const p = ok(decodePacket(LinkType.IPV6, packet));
    assert.equal(p.source, canonicalAddress(full), full);
    assert.equal(p.destination, canonicalAddress(reversed), reversed);
  }
  const v4 = buildUdp(V4).slice(14);
  for (let i = 0; i < 5_000; i++) {
    const octets = Array.from({ length: 4 }, () => Math.floor(random() * 256));
    v4.set(octets, 12);
    assert.equal(ok(decodePacket(LinkType.IPV4, v4)).source, canonicalAddress(octets.join('.')));
  }
});

test('IPv6 text: the RFC 5952 corner cases', () => {
  const cases: [string, string][] = [
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // leftmost of equal runs
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // longest run
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not compressed
    ['1:0:0:0:0:0:0:0', '1::'],
    ['0:0:0:0:0:ffff:c000:201', '192.0.2.1'],
    ['0:0:0:0:0:0:c000:201', '::c000:201'],
    ['fe80:0:0:0:abcd:ef01:2345:6789', 'fe80::abcd:ef01:2345:6789'],
  ];
  const packet = buildUdp(V6).slice(14);
  for (const [full, text] of cases) {
    full.split(':').forEach((g, k) => {
      packet[8 + 2 * k] = parseInt(g, 16) >> 8;
      packet[9 + 2 * k] = parseInt(g, 16) & 0xff;
    });
    assert.equal(ok(decodePacket(LinkType.IPV6, packet)).source, text);
    assert.equal(canonicalAddress(full), text);
  }
});

// ---- fuzz -------------------------------------------------------------------------------------

test('fuzz: 300,000 mutated real and built packets never throw and decode only valid packets', () => {
  const seed = Number(process.env['PORTSNARE_FUZZ_SEED'] ?? 0x5eed1e55);
  const corpus: CorpusPacket[] = syntheticCorpus();
  for (const c of CAPTURES) {
    const { linkType, frames } = fixture(c.file);
    for (const data of frames) corpus.push({ linkType, data });
  }
  const started = performance.now();
  let stats;
  try {
    stats = fuzzDecoder(300_000, seed, corpus);
  } catch (err) {
    console.error(`fuzz failed with seed ${seed} (rerun with PORTSNARE_FUZZ_SEED=${seed})`);
    throw err;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`fuzz seed ${seed}: ${Math.round(300_000 / seconds)} packets/s, ${stats.decoded} decoded`);
  assert.ok(stats.decoded > 20_000, `decoded ${stats.decoded}`);
  for (const [reason, count] of Object.entries(stats.dropped))
    assert.ok(count > 0, `no ${reason} drop in the run`);
});
