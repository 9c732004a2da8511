import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode, ErrorCodes } from '../errors.ts';
import { pcapHeader, pcapRecord, readPcap, writePcap, type PcapPacket } from './pcap-file.ts';
import { MAX_RECORD_BYTES, openPcapStream } from './pcap-stream.ts';

const FIXTURES = new URL('../../test/fixtures/pcap/', import.meta.url);
const sample = [
  { timestampUs: 1_700_000_000_123_456, data: Uint8Array.from({ length: 60 }, (_, i) => i) },
  { timestampUs: 1_700_000_001_000_000, data: new Uint8Array(300).fill(7) },
  { timestampUs: 0, data: new Uint8Array(0) },
];

const plain = (p: PcapPacket) => ({
  timestampUs: p.timestampUs,
  data: Buffer.from(p.data).toString('hex'),
  originalLength: p.originalLength,
});

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'psn-pcap-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function collect(path: string) {
  const stream = await openPcapStream(path);
  const packets = [];
  for await (const p of stream.packets) packets.push(plain(p));
  return { stream, packets };
}

test('streaming reads every real capture exactly as the in-memory reader does', async () => {
  const names = (await readdir(FIXTURES)).filter((n) => n.endsWith('.pcap'));
  assert.ok(names.length > 0);
  for (const name of names) {
    const path = new URL(name, FIXTURES).pathname;
    const whole = readPcap(await readFile(path));
    const { stream, packets } = await collect(path);
    assert.equal(stream.linkType, whole.linkType, name);
    assert.equal(stream.snaplen, whole.snaplen, name);
    assert.deepEqual(packets, [...whole.packets].map(plain), name);
    assert.equal(stream.problem(), null, name);
  }
});

test('a record that claims more than any packet stops the stream and is reported with its place', async () => {
  await withDir(async (dir) => {
    const file = Buffer.from(writePcap(1, sample));
    file.writeUInt32LE(0xffffffff, 24 + 16 + 60 + 8); // the second record claims 4 GiB
    await writeFile(join(dir, 'bad.pcap'), file);
    const { stream, packets } = await collect(join(dir, 'bad.pcap'));
    assert.equal(packets.length, 1);
    assert.deepEqual(stream.problem(), {
      offset: 24 + 16 + 60,
      record: 2,
      reason: `captured length ${0xffffffff} is larger than any packet (${MAX_RECORD_BYTES}): not a pcap record`,
    });
  });
});

test('garbage after the header, and a file cut inside a record, are reported, not a clean end', async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, 'garbage.pcap'), Buffer.concat([pcapHeader(1), Buffer.from('x'.repeat(200))]));
    const garbage = await collect(join(dir, 'garbage.pcap'));
    assert.equal(garbage.packets.length, 0);
    assert.match(garbage.stream.problem()?.reason ?? '', /larger than any packet/);

    const whole = writePcap(1, sample);
    await writeFile(join(dir, 'cut.pcap'), whole.subarray(0, whole.length - 150));
    const cut = await collect(join(dir, 'cut.pcap'));
    assert.equal(cut.packets.length, 1);
    assert.deepEqual(cut.stream.problem(), {
      offset: 24 + 16 + 60,
      record: 2,
      reason: 'the file ends inside the record (166 of 300 byte(s))',
    });

    await writeFile(join(dir, 'head.pcap'), whole.subarray(0, 24 + 5));
    const head = await collect(join(dir, 'head.pcap'));
    assert.equal(head.stream.problem()?.reason, 'the file ends inside a record header (5 byte(s))');
  });
});

test('not a pcap file: /dev/zero and a short file are refused at once with PCAP_FORMAT', async () => {
  await assert.rejects(openPcapStream('/dev/zero'), (err) => hasCode(err, ErrorCodes.PCAP_FORMAT));
  await withDir(async (dir) => {
    await writeFile(join(dir, 'short'), Buffer.alloc(10));
    await assert.rejects(
      openPcapStream(join(dir, 'short')),
      /10 bytes, shorter than the 24-byte file header/,
    );
  });
});

test('memory stays bounded: a 64 MiB capture is read with a few MiB of buffers', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'big.pcap');
    const out = await open(path, 'w');
    await out.write(pcapHeader(1));
    const record = pcapRecord(1_700_000_000_000_000, new Uint8Array(1500));
    const batch = Buffer.concat(Array.from({ length: 1000 }, () => record));
    const batches = Math.ceil((64 * 1024 * 1024) / batch.length);
    for (let i = 0; i < batches; i++) await out.write(batch);
    await out.close();
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let count = 0;
    const stream = await openPcapStream(path);
    for await (const p of stream.packets) {
      if (p.data.length !== 1500) assert.fail('wrong record');
      if (++count % 1000 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
    }
    assert.equal(count, batches * 1000);
    assert.equal(stream.problem(), null);
    assert.ok(peak < 16 * 1024 * 1024, `peak buffer growth ${peak} bytes`);
  });
});
