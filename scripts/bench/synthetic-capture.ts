// A synthetic capture for the replay benchmark, built in memory: millions of Ethernet frames back
// to back in one buffer, with the offset of each. Measures nothing itself.
//
// How: `buildTcp`/`buildUdp` (test/builders/packets.ts) parse addresses and compute checksums on every
// call, far too slow for millions of packets, so they build a few templates once (IPv4 TCP, IPv4
// UDP, IPv6 TCP, plus one per real scanner) and each frame is a copy of a template with its source
// address, ports and TCP flags patched in place. Checksums are then wrong; the decoder does not
// check them.
//
// Mix (fractions of the packets; the exact counts are returned):
// - spoofed IPv4 SYNs and UDP datagrams from 198.18.0.0/15 to ports 1-1023 of the sensor;
// - spoofed IPv6 SYNs from 2001:db8:ffff::/48, each from a new random address (or from a bounded
//   pool, `spoofBits6`);
// - conversation packets (ACK, ACK+PSH, FIN+ACK, RST, RST+ACK) from 192.0.2.100-199 and
//   2001:db8:1::/64 to ports below 1024: watched ports, but never probes;
// - a few real scanners (203.0.113.0/24, 2001:db8:bad::/48): one source, many ports, one probe every
//   few milliseconds, SYN/FIN/NULL/XMAS/UDP.
// The /15 holds only 131,072 addresses, so over millions of packets each spoofed address recurs.
// A real spoofed flood draws from all 2^32 addresses and practically never repeats one; to keep
// that property (one port per spoofed source, never the 3 distinct ports of the trigger) a recurring
// address always targets the same port (a hash of the address), and addresses are visited in a
// permuted cycle rather than at random. `spoofBits4` can shrink the pool (to keep the number of
// sources below the detector's table size, for comparison).
//
// Packet times: a steady simulated 10,000 packets/s (0.1 ms apart), which only matters to the
// detector's STEALTH_TRIGGER_WINDOW; the benchmark runs as fast as the code goes.
import { buildTcp, buildUdp } from '../../test/builders/packets.ts';
import { TcpFlag } from '../../src/packets/decode.ts';
import { prng } from '../../test/builders/fuzz.ts';

export const SENSOR_V4 = '192.0.2.10';
export const SENSOR_V6 = '2001:db8::10';
export const SIMULATED_RATE_PPS = 10_000;

export type PacketKind =
  'spoofed IPv4 SYN' | 'spoofed IPv4 UDP' | 'spoofed IPv6 SYN' | 'conversation' | 'scanner';

export interface Scanner {
  source: string;
  protocol: 'tcp' | 'udp';
  /** TCP flags of its probes (0 for UDP). */
  flags: number;
  /** Distinct ports it probes. */
  ports: number;
}

export interface SyntheticCapture {
  /** Every frame, back to back. */
  frames: Uint8Array;
  /** Frame i is frames[offsets[i], offsets[i + 1]). */
  offsets: Uint32Array;
  count: number;
  startMs: number;
  stepMs: number;
  kinds: Record<PacketKind, number>;
  scanners: Scanner[];
  templates: number;
  buildMs: number;
}

export interface CaptureSpec {
  packets: number;
  seed: number;
  /** Spoofed IPv4 sources come from the first 2^bits addresses of 198.18.0.0/15 (at most 17). */
  spoofBits4: number;
  /** Spoofed IPv6 sources: a pool of 2^bits addresses, or 0 for a new random address every packet. */
  spoofBits6: number;
  /** Ports the advanced modes exclude: scanners skip them so every probe of theirs counts. */
  excludedTcp: readonly number[];
  excludedUdp: readonly number[];
}

const SCANNERS: readonly Omit<Scanner, 'ports'>[] = [
  ...Array.from({ length: 8 }, (_, i) => ({
    source: `203.0.113.${i + 1}`,
    protocol: 'tcp' as const,
    flags: TcpFlag.SYN,
  })),
  { source: '203.0.113.21', protocol: 'tcp', flags: TcpFlag.FIN },
  { source: '203.0.113.22', protocol: 'tcp', flags: 0 },
  { source: '203.0.113.23', protocol: 'tcp', flags: TcpFlag.FIN | TcpFlag.PSH | TcpFlag.URG },
  { source: '2001:db8:bad::1', protocol: 'tcp', flags: TcpFlag.SYN },
  { source: '2001:db8:bad::2', protocol: 'tcp', flags: TcpFlag.FIN },
  { source: '203.0.113.101', protocol: 'udp', flags: 0 },
  { source: '203.0.113.102', protocol: 'udp', flags: 0 },
  { source: '2001:db8:bad::3', protocol: 'udp', flags: 0 },
];
const CONVERSATION_FLAGS = [
  TcpFlag.ACK,
  TcpFlag.ACK | TcpFlag.PSH,
  TcpFlag.FIN | TcpFlag.ACK,
  TcpFlag.RST,
  TcpFlag.RST | TcpFlag.ACK,
];

// Byte offsets in an untagged Ethernet frame.
const V4_SRC = 26;
const V4_TRANSPORT = 34;
const V6_SRC = 22;
const V6_TRANSPORT = 54;

/** The one port (1-1023) a spoofed /15 address always targets. */
function spoofedPort(index: number): number {
  return ((Math.imul(index, 0x9e3779b1) >>> 7) % 1023) + 1;
}

const KIND_CODES: readonly PacketKind[] = [
  'spoofed IPv4 SYN',
  'spoofed IPv4 UDP',
  'spoofed IPv6 SYN',
  'conversation',
  'scanner',
];
const SCANNER_CODE = 4;

export function buildSyntheticCapture(spec: CaptureSpec): SyntheticCapture {
  const started = performance.now();
  const { packets: count } = spec;
  const random = prng(spec.seed);
  const below = (n: number) => Math.floor(random() * n);

  // Templates, each built once with the real builder.
  const common = { sourcePort: 40000, destinationPort: 1 };
  const t4tcp = buildTcp({
    family: 4,
    source: '198.18.0.1',
    destination: SENSOR_V4,
    flags: TcpFlag.SYN,
    ...common,
  });
  const t4udp = buildUdp({ family: 4, source: '198.18.0.1', destination: SENSOR_V4, ...common });
  const t6tcp = buildTcp({
    family: 6,
    source: '2001:db8:ffff::1',
    destination: SENSOR_V6,
    flags: TcpFlag.SYN,
    ...common,
  });
  const probesPerScanner = Math.max(3, Math.min(200, Math.floor(count / (SCANNERS.length * 50))));
  const scanners: Scanner[] = SCANNERS.map((s) => ({ ...s, ports: probesPerScanner }));
  const scannerTemplates = scanners.map((s) => {
    const family = s.source.includes(':') ? 6 : 4;
    const destination = family === 4 ? SENSOR_V4 : SENSOR_V6;
    return s.protocol === 'tcp'
      ? buildTcp({ family, source: s.source, destination, flags: s.flags, ...common })
      : buildUdp({ family, source: s.source, destination, ...common });
  });
  const scannerPorts = scanners.map((s) => {
    const excluded = new Set(s.protocol === 'tcp' ? spec.excludedTcp : spec.excludedUdp);
    const ports: number[] = [];
    for (let p = 1; ports.length < s.ports && p < 1024; p++) if (!excluded.has(p)) ports.push(p);
    return ports;
  });

  // Where each scanner's probes go: spread over the capture, one every `gap` packets.
  const scannerSlot = new Int32Array(count).fill(-1); // scanner * 65536 + probe number
  const gap = Math.max(1, Math.min(40, Math.floor(count / (probesPerScanner * scanners.length))));
  scanners.forEach((_, k) => {
    let at = Math.floor(((k + 0.5) * count) / (scanners.length + 1));
    for (let j = 0; j < probesPerScanner; j++, at += gap) {
      let slot = at % count;
      while (scannerSlot[slot] !== -1) slot = (slot + 1) % count;
      scannerSlot[slot] = k * 65536 + j;
    }
  });

  // Kinds first, so the buffer can be allocated at its exact size.
  const kind = new Uint8Array(count);
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    let code: number;
    if (scannerSlot[i] !== -1) {
      code = SCANNER_CODE;
      bytes += scannerTemplates[scannerSlot[i]! >> 16]!.length;
    } else {
      const r = random();
      code = r < 0.8 ? 0 : r < 0.87 ? 1 : r < 0.92 ? 2 : 3;
      // Conversations reserve the IPv6 size; three in four turn out IPv4 (shorter) below.
      bytes += code === 0 ? t4tcp.length : code === 1 ? t4udp.length : t6tcp.length;
    }
    kind[i] = code;
  }

  const frames = new Uint8Array(bytes);
  const offsets = new Uint32Array(count + 1);
  const kinds = Object.fromEntries(KIND_CODES.map((k) => [k, 0])) as Record<PacketKind, number>;
  let o = 0;
  const space4 = 2 ** Math.min(17, spec.spoofBits4); // 198.18.0.0/15 at most
  const space6 = spec.spoofBits6 > 0 ? 2 ** Math.min(24, spec.spoofBits6) : 0;
  let spoofed4 = 0;
  let spoofed6 = 0;
  const start4 = below(space4);
  const start6 = below(Math.max(1, space6));
  for (let i = 0; i < count; i++) {
    offsets[i] = o;
    const code = kind[i]!;
    kinds[KIND_CODES[code]!]++;
    if (code === 0 || code === 1) {
      // Spoofed IPv4: the next address of a permuted cycle (an odd multiplier modulo a power of 2).
      const index = (Math.imul(spoofed4++, 40503) + start4) & (space4 - 1);
      frames.set(code === 0 ? t4tcp : t4udp, o);
      frames[V4_SRC + o] = 198;
      frames[V4_SRC + o + 1] = 18 + (index >> 16);
      frames[V4_SRC + o + 2] = (index >> 8) & 0xff;
      frames[V4_SRC + o + 3] = index & 0xff;
      setPorts(frames, o + V4_TRANSPORT, 1024 + below(60000), spoofedPort(index));
      o += code === 0 ? t4tcp.length : t4udp.length;
    } else if (code === 2) {
      frames.set(t6tcp, o);
      if (space6 === 0) {
        for (let b = 6; b < 16; b++) frames[V6_SRC + o + b] = below(256);
        setPorts(frames, o + V6_TRANSPORT, 1024 + below(60000), 1 + below(1023));
      } else {
        // 2001:db8:ffff::<index>, from a cycle like the IPv4 one, one port per address.
        const index = (Math.imul(spoofed6++, 40503) + start6) & (space6 - 1);
        frames[V6_SRC + o + 13] = index >> 16;
        frames[V6_SRC + o + 14] = (index >> 8) & 0xff;
        frames[V6_SRC + o + 15] = index & 0xff;
        setPorts(frames, o + V6_TRANSPORT, 1024 + below(60000), spoofedPort(index + 7));
      }
      o += t6tcp.length;
    } else if (code === 3) {
      const flags = CONVERSATION_FLAGS[below(CONVERSATION_FLAGS.length)]!;
      if (random() < 0.75) {
        frames.set(t4tcp, o);
        frames[V4_SRC + o + 0] = 192;
        frames[V4_SRC + o + 1] = 0;
        frames[V4_SRC + o + 2] = 2;
        frames[V4_SRC + o + 3] = 100 + below(100);
        setPorts(frames, o + V4_TRANSPORT, 32768 + below(28000), 1 + below(1023));
        frames[o + V4_TRANSPORT + 13] = flags;
        o += t4tcp.length; // shorter than the IPv6 size reserved for it: the buffer keeps some slack
      } else {
        frames.set(t6tcp, o);
        frames[V6_SRC + o + 4] = 0; // 2001:db8:1::/64
        frames[V6_SRC + o + 5] = 1;
        for (let b = 6; b < 16; b++) frames[V6_SRC + o + b] = b < 15 ? 0 : 1 + below(200);
        setPorts(frames, o + V6_TRANSPORT, 32768 + below(28000), 1 + below(1023));
        frames[o + V6_TRANSPORT + 13] = flags;
        o += t6tcp.length;
      }
    } else {
      const k = scannerSlot[i]! >> 16;
      const template = scannerTemplates[k]!;
      frames.set(template, o);
      const transport = o + (template[12] === 0x08 ? V4_TRANSPORT : V6_TRANSPORT);
      setPorts(frames, transport, 40000 + k, scannerPorts[k]![scannerSlot[i]! & 0xffff]!);
      o += template.length;
    }
  }
  offsets[count] = o;
  return {
    frames: frames.subarray(0, o),
    offsets,
    count,
    startMs: Date.UTC(2026, 0, 1),
    stepMs: 1000 / SIMULATED_RATE_PPS,
    kinds,
    scanners,
    templates: 3 + scannerTemplates.length,
    buildMs: performance.now() - started,
  };
}

function setPorts(frames: Uint8Array, at: number, source: number, destination: number): void {
  frames[at] = source >> 8;
  frames[at + 1] = source & 0xff;
  frames[at + 2] = destination >> 8;
  frames[at + 3] = destination & 0xff;
}
