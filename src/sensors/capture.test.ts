// Tests for src/sensors/capture.ts and, through it, the native Capture. parseBatch is tested on
// hand-made buffers; the rest is a lab test (needs root, skipped otherwise): the capture runs in the
// sensor namespace through test/fixtures/processes/capture-probe.ts, and nmap / UDP datagrams come
// from the scanner namespace. Also prints the delivery latency of immediate vs buffered mode.
// Run: node --import tsx --test src/sensors/capture.test.ts
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

import ipaddr from 'ipaddr.js';

import { createLab, waitFor, type Lab, type LabProcess } from '../../test/helpers/netns.ts';
import { parseBatch } from './capture.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROBE = fileURLToPath(new URL('../../test/fixtures/processes/capture-probe.ts', import.meta.url));
const IS_ROOT = process.getuid?.() === 0;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_LINUX_SLL = 113;

// ---------------------------------------------------------------------------------------------
// parseBatch

/** One record as the addon writes it: host byte order header, data, zero padding to 4. */
function record(tsSec: number, tsUsec: number, data: number[], originalLength = data.length): Buffer {
  const header = Buffer.alloc(16);
  const write = (value: number, at: number) =>
    endianness() === 'LE' ? header.writeUInt32LE(value, at) : header.writeUInt32BE(value, at);
  write(tsSec, 0);
  write(tsUsec, 4);
  write(data.length, 8);
  write(originalLength, 12);
  const padded = Buffer.alloc(Math.ceil(data.length / 4) * 4);
  Buffer.from(data).copy(padded);
  return Buffer.concat([header, padded]);
}

const plain = (p: { timestampUs: number; data: Uint8Array; originalLength: number }) => ({
  timestampUs: p.timestampUs,
  data: [...p.data],
  originalLength: p.originalLength,
});

void test('parseBatch: zero packets', () => {
  assert.deepEqual([...parseBatch(Buffer.alloc(0), 0)], []);
  assert.deepEqual([...parseBatch(record(1, 2, [3]), 0)], [], 'count 0 reads nothing');
  assert.deepEqual([...parseBatch(Buffer.alloc(0), 5)], [], 'an empty buffer yields nothing');
});

void test('parseBatch: records of every padding length, as views into the batch', () => {
  const batch = Buffer.concat([
    record(1_700_000_000, 999_999, [], 60),
    record(1, 0, [0xaa]),
    record(2, 5, [1, 2, 3, 4, 5], 1514),
    record(0xffffffff, 1, [9, 8, 7, 6]),
    record(3, 3, [1, 2, 3, 4, 5, 6, 7]),
  ]);
  const packets = [...parseBatch(batch, 5)];
  assert.deepEqual(packets.map(plain), [
    { timestampUs: 1_700_000_000_999_999, data: [], originalLength: 60 },
    { timestampUs: 1_000_000, data: [0xaa], originalLength: 1 },
    { timestampUs: 2_000_005, data: [1, 2, 3, 4, 5], originalLength: 1514 },
    { timestampUs: 0xffffffff * 1_000_000 + 1, data: [9, 8, 7, 6], originalLength: 4 },
    { timestampUs: 3_000_003, data: [1, 2, 3, 4, 5, 6, 7], originalLength: 7 },
  ]);
  for (const p of packets) assert.equal(p.data.buffer, batch.buffer, 'data is a view, not a copy');
  assert.equal(packets[2]?.data.byteOffset, batch.byteOffset + 16 + 16 + 4 + 16);
});

void test('parseBatch: a truncated record or a short batch ends the iteration', () => {
  const two = Buffer.concat([record(1, 0, [1, 2, 3]), record(2, 0, [4, 5, 6, 7, 8])]);
  // count larger than the records present
  assert.equal([...parseBatch(two, 10)].length, 2);
  // count smaller than the records present
  assert.deepEqual(
    [...parseBatch(two, 1)].map((p) => [...p.data]),
    [[1, 2, 3]],
  );
  // the second record's data cut short: caplen says 5, 3 bytes present
  assert.deepEqual(
    [...parseBatch(two.subarray(0, 20 + 16 + 3), 2)].map((p) => [...p.data]),
    [[1, 2, 3]],
  );
  // the second record's header cut short
  assert.equal([...parseBatch(two.subarray(0, 20 + 15), 2)].length, 1);
  assert.equal([...parseBatch(two.subarray(0, 15), 2)].length, 0);
  // a caplen near 2^32 is not trusted (0xffffffff reads the same in either byte order)
  const huge = record(1, 0, [1]);
  huge.writeUInt32LE(0xffffffff, 8);
  assert.equal([...parseBatch(huge, 1)].length, 0);
  // the last record's padding may be missing
  assert.deepEqual(
    [...parseBatch(record(1, 0, [1, 2, 3]).subarray(0, 19), 1)].map((p) => [...p.data]),
    [[1, 2, 3]],
  );
});

// ---------------------------------------------------------------------------------------------
// Lab: the probe process and what it prints

interface ProbeEvent {
  event: string;
  [field: string]: unknown;
}

interface ProbePacket {
  linkType: number;
  caplen: number;
  len: number;
  tsUs: number;
  atMs: number;
  bytes: Buffer;
  batch: number; // index of the batch event it came in
}

/** A 'packet' line of the probe. */
interface PacketLine {
  linkType: number;
  caplen: number;
  len: number;
  tsUs: number;
  atMs: number;
  hex: string;
}

interface Probe {
  proc: LabProcess;
  events(): ProbeEvent[];
  packets(): ProbePacket[];
  waitEvent(name: string, what?: string): Promise<ProbeEvent>;
  waitPackets(predicate: (p: ProbePacket) => boolean, what: string, count?: number): Promise<ProbePacket[]>;
  /** SIGTERM; asserts the stats line and a clean exit within 2 s; returns the stats. */
  stop(): Promise<ProbeEvent>;
}

function parseEvents(stdout: string): ProbeEvent[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as ProbeEvent);
}

/** The probe's command-line options (see capture-probe.ts), plus whether to wait for 'ready'. */
interface ProbeOptions {
  filter: string;
  device?: string;
  nextFilter?: string;
  badFilter?: string;
  buffered?: boolean;
  timeoutMs?: number;
  maxBatch?: number;
  snaplen?: number;
  throwFirst?: boolean;
  closeInBatch?: boolean;
  waitReady?: boolean;
}

function probeArgs({ waitReady: _, ...opts }: ProbeOptions): string[] {
  return Object.entries(opts).flatMap(([key, value]) => {
    const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    return value === true ? [flag] : value === false ? [] : [flag, String(value)];
  });
}

async function startProbe(t: TestContext, lab: Lab, opts: ProbeOptions): Promise<Probe> {
  const argv = [process.execPath, '--import', 'tsx', PROBE, ...probeArgs(opts)];
  const proc = lab.spawn(lab.sensor, argv, { cwd: REPO_ROOT });
  t.after(() => proc.kill('SIGKILL'));
  const events = () => parseEvents(proc.stdout());
  const packets = () => {
    const out: ProbePacket[] = [];
    let batch = -1;
    for (const e of events()) {
      if (e.event === 'batch') batch++;
      if (e.event !== 'packet') continue;
      const { linkType, caplen, len, tsUs, atMs, hex } = e as unknown as PacketLine;
      out.push({ linkType, caplen, len, tsUs, atMs, bytes: Buffer.from(hex, 'hex'), batch });
    }
    return out;
  };
  const context = () => `\nprobe stdout:\n${proc.stdout()}\nprobe stderr:\n${proc.stderr()}`;
  const probe: Probe = {
    proc,
    events,
    packets,
    waitEvent: (name, what = name) =>
      waitFor(() => events().find((e) => e.event === name), { timeoutMs: 20_000, what: what + context() }),
    async waitPackets(predicate, what, count = 1) {
      return waitFor(
        () => {
          const found = packets().filter(predicate);
          return found.length >= count ? found : undefined;
        },
        { timeoutMs: 10_000, what: what + context() },
      );
    },
    async stop() {
      const started = Date.now();
      proc.kill('SIGTERM');
      const { code, signal } = await proc.exited;
      const tookMs = Date.now() - started;
      assert.equal(code, 0, `probe exit (signal ${signal})${context()}`);
      assert.ok(tookMs < 2000, `probe took ${tookMs} ms to exit after SIGTERM`);
      const stats = events().find((e) => e.event === 'stats');
      assert.ok(stats, `no stats line${context()}`);
      return stats;
    },
  };
  if (opts.waitReady ?? true) await probe.waitEvent('ready');
  return probe;
}

// ---------------------------------------------------------------------------------------------
// Lab: decoding just enough of a packet

interface Decoded {
  family: 4 | 6;
  protocol: number; // 6 TCP, 17 UDP
  source: string;
  destination: string;
  destinationPort: number;
  tcpFlags: number; // 0 for UDP
  payload: Buffer;
}

function decode(p: ProbePacket): Decoded | undefined {
  const b = p.bytes;
  let at: number;
  let etherType: number;
  if (p.linkType === LINKTYPE_ETHERNET) [etherType, at] = [b.readUInt16BE(12), 14];
  else if (p.linkType === LINKTYPE_LINUX_SLL) [etherType, at] = [b.readUInt16BE(14), 16];
  else return undefined;
  const address = (from: number, length: number) =>
    ipaddr.fromByteArray([...b.subarray(from, from + length)]).toString();
  let l4: number;
  let head: Omit<Decoded, 'destinationPort' | 'tcpFlags' | 'payload'>;
  if (etherType === 0x0800) {
    head = {
      family: 4,
      protocol: b[at + 9] ?? -1,
      source: address(at + 12, 4),
      destination: address(at + 16, 4),
    };
    l4 = at + ((b[at] ?? 0) & 0x0f) * 4;
  } else if (etherType === 0x86dd) {
    head = {
      family: 6,
      protocol: b[at + 6] ?? -1,
      source: address(at + 8, 16),
      destination: address(at + 24, 16),
    };
    l4 = at + 40;
  } else {
    return undefined;
  }
  return {
    ...head,
    destinationPort: b.readUInt16BE(l4 + 2),
    tcpFlags: head.protocol === 6 ? (b[l4 + 13] ?? 0) : 0,
    payload: head.protocol === 17 ? b.subarray(l4 + 8) : Buffer.alloc(0),
  };
}

const canonical = (address: string) => ipaddr.parse(address).toString();
const SYN = 0x02;
const ACK = 0x10;

function isSyn(d: Decoded | undefined, destination: string, port: number): boolean {
  return (
    !!d &&
    d.protocol === 6 &&
    d.destination === canonical(destination) &&
    d.destinationPort === port &&
    (d.tcpFlags & (SYN | ACK)) === SYN
  );
}

function isUdp(d: Decoded | undefined, destination: string, port: number): boolean {
  return !!d && d.protocol === 17 && d.destination === canonical(destination) && d.destinationPort === port;
}

// ---------------------------------------------------------------------------------------------
// Lab: traffic from the scanner

async function synScan(lab: Lab, address: string, ports: string): Promise<void> {
  const family = address.includes(':') ? ['-6'] : [];
  const argv = ['nmap', ...family, '-n', '-Pn', '-sS', '--max-retries', '0', '-p', ports, address];
  await lab.exec(lab.scanner, argv);
}

// Sends `count` 8-byte datagrams `intervalMs` apart (0: back to back), each carrying the sender's wall
// clock (ms with a fraction, float64 LE); the namespaces share the machine's clock.
const SEND_UDP = `
  const dgram = require('node:dgram');
  const { performance } = require('node:perf_hooks');
  const [address, port, count, intervalMs] = process.argv.slice(1).map((a, i) => (i ? Number(a) : a));
  const socket = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  let sent = 0;
  const send = (then) => {
    const payload = Buffer.alloc(8);
    payload.writeDoubleLE(performance.timeOrigin + performance.now());
    socket.send(payload, port, address, (err) => {
      if (err) throw err;
      if (++sent === count) socket.close();
      else if (then) setTimeout(then, intervalMs, then);
    });
  };
  if (intervalMs > 0) send(send);
  else for (let i = 0; i < count; i++) send();
`;

async function sendUdp(lab: Lab, address: string, port: number, count = 1, intervalMs = 0): Promise<void> {
  const argv = [process.execPath, '-e', SEND_UDP, address, String(port), String(count), String(intervalMs)];
  await lab.exec(lab.scanner, argv);
}

/** "p50 x, p90 y, p99 z, max w ms" of a sample of milliseconds. */
function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => (sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN).toFixed(3);
  return `p50 ${at(50)}, p90 ${at(90)}, p99 ${at(99)}, max ${at(100)} ms`;
}

// ---------------------------------------------------------------------------------------------
// Lab tests

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const LAB = { skip: IS_ROOT ? false : 'needs root (network namespaces)' };

void test('capture in a lab namespace', LAB, async (t) => {
  const lab = await createLab();
  t.after(() => lab.destroy());
  const { ipv4: v4, ipv6: v6 } = lab.sensor;
  const toSensor = `(dst host ${v4} or dst host ${v6})`;
  const udp9 = `dst host ${v4} and udp dst port 9`;

  await t.test("'any': v4/v6 SYN probes and UDP arrive as LINUX_SLL; the filter holds", async (t) => {
    const filter = `${toSensor} and (tcp dst portrange 1-3 or udp dst port 9)`;
    const probe = await startProbe(t, lab, { device: 'any', filter });
    const ready = await probe.waitEvent('ready');
    assert.equal(ready.linkType, LINKTYPE_LINUX_SLL);
    for (const name of ['any', 'eth0', 'lo']) {
      assert.ok((ready.devices as string[]).includes(name), `listDevices() has ${name}`);
    }

    await synScan(lab, v4, '1-4');
    await synScan(lab, v6, '1-4');
    await sendUdp(lab, v4, 10); // outside the filter, like port 4 above
    await sendUdp(lab, v4, 9);
    await sendUdp(lab, v6, 9); // last: once it is in, everything before it has been delivered
    await probe.waitPackets((p) => isUdp(decode(p), v6, 9), 'UDP to [v6]:9');

    const packets = probe.packets();
    const decoded = packets.map(decode);
    for (const address of [v4, v6]) {
      for (const port of [1, 2, 3]) {
        const syns = decoded.filter((d) => isSyn(d, address, port));
        assert.equal(syns.length, 1, `one SYN to ${address} port ${port}`);
      }
      assert.ok(
        decoded.some((d) => isUdp(d, address, 9)),
        `UDP to ${address} port 9`,
      );
    }
    const outside = decoded.filter((d) => d?.destinationPort === 4 || d?.destinationPort === 10);
    assert.deepEqual(outside, [], 'nothing outside the filter');
    for (const p of packets) {
      assert.equal(p.linkType, LINKTYPE_LINUX_SLL);
      assert.equal(p.caplen, p.len, 'small packets are captured whole');
      assert.equal(p.bytes.length, p.caplen);
      assert.ok(Math.abs(p.tsUs / 1000 - p.atMs) < 5000, 'timestamps are wall clock');
    }

    const stats = await probe.stop();
    assert.ok((stats.received as number) >= packets.length, `received ${String(stats.received)}`);
    assert.equal(stats.dropped, 0);
  });

  await t.test('eth0: Ethernet link type; snaplen cuts packets, len keeps the wire length', async (t) => {
    // 50 bytes: Ethernet + IPv4 + TCP up to the flags; not a multiple of 4, so records are padded.
    const filter = `${toSensor} and (tcp dst port 1 or udp dst port 9)`;
    const probe = await startProbe(t, lab, { device: 'eth0', snaplen: 50, filter });
    assert.equal((await probe.waitEvent('ready')).linkType, LINKTYPE_ETHERNET);
    await synScan(lab, v4, '1');
    await sendUdp(lab, v6, 9);
    await probe.waitPackets((p) => p.bytes.readUInt16BE(12) === 0x86dd, 'the IPv6 datagram');

    const packets = probe.packets();
    assert.equal(packets.length, 2, 'the SYN and the datagram');
    const [syn, udp] = packets as [ProbePacket, ProbePacket];
    assert.ok(isSyn(decode(syn), v4, 1));
    assert.deepEqual([syn.caplen, syn.len > 50], [50, true]);
    assert.deepEqual([udp.caplen, udp.len], [50, 14 + 40 + 8 + 8]);
    for (const p of packets) assert.equal(p.linkType, LINKTYPE_ETHERNET);
    await probe.stop();
  });

  await t.test(
    'a bad filter throws with the pcap message; setFilter changes what is delivered',
    async (t) => {
      const badFilter = 'udp dst port 9 and and';
      const nextFilter = `dst host ${v4} and udp dst port 10`;
      const probe = await startProbe(t, lab, { filter: udp9, nextFilter, badFilter });
      for (const name of ['open-error', 'setfilter-error']) {
        const error = await probe.waitEvent(name);
        assert.equal(error.code, 'PCAP_ERROR', name);
        assert.match(
          error.message as string,
          /^bad capture filter "udp dst port 9 and and": .*syntax error$/,
        );
      }
      const ports = () => probe.packets().map((p) => decode(p)?.destinationPort);
      // The failed setFilter kept the first filter.
      await sendUdp(lab, v4, 10);
      await sendUdp(lab, v4, 9);
      await probe.waitPackets((p) => isUdp(decode(p), v4, 9), 'UDP to port 9');
      assert.deepEqual(ports(), [9]);

      probe.proc.kill('SIGUSR2'); // the probe applies nextFilter
      await probe.waitEvent('filter');
      await sendUdp(lab, v4, 9);
      await sendUdp(lab, v4, 10);
      await probe.waitPackets((p) => isUdp(decode(p), v4, 10), 'UDP to port 10');
      assert.deepEqual(ports(), [9, 10]);

      assert.deepEqual(await probe.stop(), { event: 'stats', received: 2, dropped: 0, ifDropped: 0 });
    },
  );

  await t.test('a device that does not exist throws PCAP_ERROR_NO_SUCH_DEVICE', async (t) => {
    const probe = await startProbe(t, lab, { device: 'nosuch0', filter: 'udp', waitReady: false });
    const error = await probe.waitEvent('open-error');
    assert.equal(error.code, 'PCAP_ERROR_NO_SUCH_DEVICE');
    assert.match(error.message as string, /^pcap_activate nosuch0: .*No such device/);
    assert.equal((await probe.proc.exited).code, 1);
  });

  await t.test('close() lets the process exit at once on a quiet interface (both ring modes)', async (t) => {
    for (const buffered of [false, true]) {
      const probe = await startProbe(t, lab, { device: 'eth0', filter: 'udp dst port 9999', buffered });
      await sleep(200);
      assert.deepEqual(await probe.stop(), { event: 'stats', received: 0, dropped: 0, ifDropped: 0 });
    }
  });

  await t.test('a batch holds at most maxBatch packets; the rest follows without new traffic', async (t) => {
    for (const buffered of [false, true]) {
      const probe = await startProbe(t, lab, { filter: udp9, maxBatch: 4, buffered, timeoutMs: 10 });
      // Back to back: with buffered, all 40 land in one ring block, handed over 10 ms later. What
      // a batch leaves behind must come out on the next loop turns, as nothing else wakes us.
      await sendUdp(lab, v4, 9, 40);
      const packets = await probe.waitPackets(() => true, `40 datagrams (buffered ${buffered})`, 40);
      assert.equal(packets.length, 40);
      const sizes = probe
        .events()
        .filter((e) => e.event === 'batch')
        .map((e) => e.count as number);
      assert.ok(
        sizes.every((n) => n >= 1 && n <= 4),
        `batch sizes ${sizes.join(',')}`,
      );
      if (buffered) assert.ok(sizes.includes(4), `batch sizes ${sizes.join(',')}`);
      await probe.stop();
    }
  });

  await t.test('an exception from onPackets reaches uncaughtException; capture goes on', async (t) => {
    const probe = await startProbe(t, lab, { filter: udp9, throwFirst: true });
    await sendUdp(lab, v4, 9);
    assert.equal((await probe.waitEvent('uncaught')).message, 'thrown from onPackets');
    await sendUdp(lab, v4, 9);
    await probe.waitPackets(() => true, 'the second datagram', 2);
    await probe.stop();
  });

  await t.test(
    'close() from inside onPackets: nothing more is delivered and the process exits',
    async (t) => {
      const probe = await startProbe(t, lab, { filter: udp9, closeInBatch: true });
      await sendUdp(lab, v4, 9);
      await probe.waitEvent('closed');
      assert.equal((await probe.proc.exited).code, 0);
      assert.equal(probe.packets().length, 1);
    },
  );

  await t.test('an interface that disappears is reported once, without spinning', async (t) => {
    // A veth pair of its own inside the sensor namespace (the dummy module may be missing).
    await lab.exec(lab.sensor, ['ip', 'link', 'add', 'gone0', 'type', 'veth', 'peer', 'name', 'gone1']);
    await lab.exec(lab.sensor, ['ip', 'link', 'set', 'gone0', 'up']);
    const probe = await startProbe(t, lab, { device: 'gone0', filter: 'udp' });
    await lab.exec(lab.sensor, ['ip', 'link', 'del', 'gone0']);
    const error = await probe.waitEvent('capture-error');
    assert.deepEqual(error, {
      event: 'capture-error',
      code: 'PCAP_ERROR',
      message: 'capture failed: The interface disappeared',
    });
    const cpuMs = () => {
      const fields = readFileSync(`/proc/${probe.proc.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, USER_HZ 100
    };
    const before = cpuMs();
    await sleep(500);
    const used = cpuMs() - before;
    assert.ok(used < 100, `probe used ${used} ms CPU in the 500 ms after the error`);
    assert.equal(probe.events().filter((e) => e.event === 'capture-error').length, 1);
    await probe.stop();
  });

  await t.test('delivery latency on an idle link, immediate vs buffered (printed only)', async (t) => {
    for (const buffered of [false, true]) {
      const probe = await startProbe(t, lab, { filter: udp9, buffered, timeoutMs: 10 });
      await sendUdp(lab, v4, 9, 50, 10);
      const packets = await probe.waitPackets(() => true, `50 datagrams (buffered ${buffered})`, 50);
      // Sender's clock in the payload -> onPackets; and the kernel's capture timestamp -> onPackets.
      const total = summary(packets.map((p) => p.atMs - (decode(p)?.payload.readDoubleLE(0) ?? NaN)));
      const fromKernel = summary(packets.map((p) => p.atMs - p.tsUs / 1000));
      const batches = new Set(packets.map((p) => p.batch)).size;
      console.log(
        `capture latency, ${buffered ? 'immediate:false timeoutMs:10' : 'immediate'}: ` +
          `${packets.length} datagrams 10 ms apart in ${batches} batches; ` +
          `send -> onPackets ${total}; kernel timestamp -> onPackets ${fromKernel}`,
      );
      await probe.stop();
    }
  });
});
