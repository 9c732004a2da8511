// Tests of packets/pcap-file (reading the real captures, both byte orders, nanosecond files, cut
// files, bad headers, writing) and of test/builders/packets' checksums, checked by hand and, where tcpdump
// is installed, by tcpdump reading a file written here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTcp, buildUdp, checksum } from '../../test/builders/packets.ts';
import { LinkType, TcpFlag } from './decode.ts';
import { pcapHeader, pcapRecord, readPcap, writePcap, type PcapPacket } from './pcap-file.ts';

const FIXTURES = new URL('../../test/fixtures/pcap/', import.meta.url);
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

const sample = [
  { timestampUs: 1_700_000_000_123_456, data: buildTcp({ ...V4, flags: TcpFlag.SYN }) },
  { timestampUs: 1_700_000_001_000_000, data: buildUdp({ ...V6, payload: new Uint8Array(300) }) },
  { timestampUs: 0, data: new Uint8Array(0) },
];

const plain = (packets: Iterable<PcapPacket>) =>
  [...packets].map((p) => ({
    timestampUs: p.timestampUs,
    data: Buffer.from(p.data).toString('hex'),
    originalLength: p.originalLength,
  }));

test('reads every real capture: link type, snapshot length, whole packets, shared memory', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.pcap'));
  assert.ok(files.length >= 20, `${files.length} fixtures`);
  for (const file of files) {
    const buf = readFileSync(new URL(file, FIXTURES));
    const pcap = readPcap(buf);
    const expected = file.startsWith('any-linux-sll2')
      ? LinkType.LINUX_SLL2
      : file.startsWith('any-linux-sll')
        ? LinkType.LINUX_SLL
        : LinkType.ETHERNET;
    assert.equal(pcap.linkType, expected, file);
    assert.equal(pcap.snaplen, 262144, file);
    const packets = [...pcap.packets];
    assert.ok(packets.length >= 2, file);
    let previous = 0;
    let end = 24;
    for (const p of packets) {
      assert.ok(p.timestampUs >= previous && p.timestampUs > 1.7e15, `${file}: timestamps in order`);
      previous = p.timestampUs;
      assert.equal(p.data.length, p.originalLength);
      assert.equal(p.data.buffer, buf.buffer, 'a view, not a copy');
      end += 16 + p.data.length;
    }
    assert.equal(end, buf.length, `${file}: every byte accounted for`);
  }
});

test('writePcap round trip; pcapHeader + pcapRecord give the same bytes; iterating twice', () => {
  const file = writePcap(LinkType.ETHERNET, sample);
  const streamed = Buffer.concat([
    pcapHeader(LinkType.ETHERNET),
    ...sample.map((p) => pcapRecord(p.timestampUs, p.data)),
  ]);
  assert.deepEqual(streamed, file);
  const pcap = readPcap(file);
  assert.equal(pcap.linkType, LinkType.ETHERNET);
  assert.equal(pcap.snaplen, 65535);
  const expected = sample.map((p) => ({
    timestampUs: p.timestampUs,
    data: Buffer.from(p.data).toString('hex'),
    originalLength: p.data.length,
  }));
  assert.deepEqual(plain(pcap.packets), expected);
  assert.deepEqual(plain(pcap.packets), expected, 'a second iteration starts over');
});

test('writePcap cuts packets to the snapshot length and keeps their original length', () => {
  const pcap = readPcap(writePcap(LinkType.RAW, sample, 60));
  assert.equal(pcap.snaplen, 60);
  assert.deepEqual(
    [...pcap.packets].map((p) => [p.data.length, p.originalLength]),
    [
      [54, 54],
      [60, sample[1]!.data.length],
      [0, 0],
    ],
  );
  assert.throws(() => pcapRecord(-1, new Uint8Array(0)), RangeError);
  assert.throws(() => pcapRecord(0.5, new Uint8Array(0)), RangeError);
});

/** The same file in another byte order and/or with nanosecond timestamps. */
function convert(file: Buffer, bigEndian: boolean, nanoseconds: boolean): Buffer {
  const out = Buffer.alloc(file.length);
  const write = (value: number, at: number) =>
    bigEndian ? out.writeUInt32BE(value, at) : out.writeUInt32LE(value, at);
  write(nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  const write16 = (value: number, at: number) =>
    bigEndian ? out.writeUInt16BE(value, at) : out.writeUInt16LE(value, at);
  write16(2, 4);
  write16(4, 6);
  for (const at of [8, 12, 16, 20]) write(file.readUInt32LE(at), at);
  let o = 24;
  while (o < file.length) {
    const length = file.readUInt32LE(o + 8);
    write(file.readUInt32LE(o), o);
    write(file.readUInt32LE(o + 4) * (nanoseconds ? 1000 : 1) + (nanoseconds ? 999 : 0), o + 4);
    write(length, o + 8);
    write(file.readUInt32LE(o + 12), o + 12);
    file.copy(out, o + 16, o + 16, o + 16 + length);
    o += 16 + length;
  }
  return out;
}

test('both byte orders, microsecond and nanosecond files read the same', () => {
  const file = writePcap(LinkType.LINUX_SLL2, sample);
  const expected = plain(readPcap(file).packets);
  for (const bigEndian of [false, true]) {
    for (const nanoseconds of [false, true]) {
      const pcap = readPcap(convert(file, bigEndian, nanoseconds));
      assert.equal(pcap.linkType, LinkType.LINUX_SLL2);
      assert.deepEqual(plain(pcap.packets), expected, `bigEndian ${bigEndian} nanoseconds ${nanoseconds}`);
    }
  }
});

test('a file cut anywhere yields the whole records before the cut, and never throws', () => {
  const file = writePcap(LinkType.ETHERNET, sample);
  const ends = [24];
  for (const p of sample) ends.push(ends.at(-1)! + 16 + p.data.length);
  for (let n = 24; n <= file.length; n++) {
    const whole = ends.filter((e) => e <= n).length - 1;
    assert.equal([...readPcap(file.subarray(0, n)).packets].length, whole, `cut at ${n}`);
  }
  const absurd = Buffer.from(file);
  absurd.writeUInt32LE(0xffffffff, 24 + 8); // first record claims 4 GiB
  assert.deepEqual([...readPcap(absurd).packets], []);
});

test('bad headers are errors with a clear message', () => {
  assert.throws(() => readPcap(Buffer.alloc(0)), /not a pcap file: 0 bytes/);
  assert.throws(() => readPcap(Buffer.alloc(23)), /shorter than the 24-byte file header/);
  assert.throws(() => readPcap(Buffer.alloc(24)), /bad magic number 0x00000000/);
  const pcapng = Buffer.alloc(28);
  pcapng.writeUInt32BE(0x0a0d0d0a, 0);
  assert.throws(() => readPcap(pcapng), /pcapng/);
  assert.throws(
    () => readPcap(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')),
    /bad magic number 0x47455420/,
  );
});

const builtFrames = [
  buildTcp({ ...V4, flags: TcpFlag.SYN }),
  buildTcp({
    ...V4,
    flags: TcpFlag.FIN | TcpFlag.PSH | TcpFlag.URG,
    ipOptions: true,
    payload: Uint8Array.of(1, 2, 3),
  }),
  buildUdp({ ...V4, payload: Uint8Array.of(0xff, 0xff, 0xff) }),
  buildTcp({ ...V6, flags: TcpFlag.SYN | TcpFlag.ACK, seq: 0xffffffff, ack: 7 }),
  buildUdp({ ...V6, extensionHeaders: [0, 60], payload: new Uint8Array(33) }),
];

test('built frames carry correct IPv4 header and TCP/UDP checksums', () => {
  for (const frame of builtFrames) {
    const ip = frame.subarray(14);
    let segment: Uint8Array;
    let pseudo: number[];
    if (ip[0]! >> 4 === 4) {
      const headerLength = (ip[0]! & 15) * 4;
      assert.equal(checksum(ip.subarray(0, headerLength)), 0, 'IPv4 header checksum');
      segment = ip.subarray(headerLength);
      pseudo = [...ip.subarray(12, 20), 0, ip[9]!, segment.length >> 8, segment.length & 0xff];
    } else {
      let next = ip[6]!;
      let o = 40;
      while (next !== 6 && next !== 17) {
        next = ip[o]!;
        o += (ip[o + 1]! + 1) * 8;
      }
      segment = ip.subarray(o);
      pseudo = [...ip.subarray(8, 40), 0, 0, segment.length >> 8, segment.length & 0xff, 0, 0, 0, next];
    }
    assert.equal(checksum(Uint8Array.from([...pseudo, ...segment])), 0, 'transport checksum');
  }
});

const tcpdump = spawnSync('tcpdump', ['--version'], { encoding: 'utf8' });
test(
  'tcpdump reads a written file and finds every checksum correct',
  { skip: tcpdump.status !== 0 && 'tcpdump not installed' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'portsnare-pcap-'));
    try {
      const path = join(dir, 'built.pcap');
      writeFileSync(
        path,
        writePcap(
          LinkType.ETHERNET,
          builtFrames.map((data, i) => ({ timestampUs: 1_700_000_000_000_000 + i, data })),
        ),
      );
      const run = spawnSync('tcpdump', ['-n', '-vv', '-r', path], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const lines = run.stdout
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith(' ') && !l.startsWith('\t'));
      assert.equal(lines.length, builtFrames.length, run.stdout);
      assert.doesNotMatch(run.stdout, /incorrect|bad cksum|bad udp cksum/, run.stdout);
      assert.equal(run.stdout.match(/\(correct\)|udp sum ok/g)?.length, builtFrames.length, run.stdout);
      assert.match(run.stdout, /Flags \[FPU\]/);
      assert.match(run.stdout, /options \(RR/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
