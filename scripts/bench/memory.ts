// Part 1b of `npm run bench` (no root): what big inputs cost in memory, the figures issue 9 names.
//
// (a) `portsnare replay` (the built CLI, as a user runs it) on a generated capture of about 1.2 GB
//     (1,500-byte SYN frames from 1,000 sources to 50 ports): peak RSS and wall time. The capture is
//     streamed (packets/pcap-stream); before, the whole file was read into memory (1.29 GB RSS).
//     The child's peak RSS comes from process.resourceUsage().maxRSS, printed at exit by a preload.
// (b) An ignore file of 1,000,000 /32 entries parsed (config/ignore-file, which keeps its entries
//     packed and its lookups in the prefix-range CidrSet): heap and array buffers kept after a full GC, in a child
//     started with --expose-gc, and lookups per second against it.
// (c) `portsnare replay` with MAX_TRACKED_SOURCES=1000000 on one SYN from each of 1,000,000 sources:
//     peak RSS of the whole stack with the detector's table full (issue 10's 150 MB goal).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pcapHeader, pcapRecord } from '../../src/packets/pcap-file.ts';
import { buildTcp } from '../../test/builders/packets.ts';
import { fixed, int, mib } from './stats.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'portsnare');
const CAPTURE_BYTES = 1200 * 1024 * 1024;
const IGNORE_ENTRIES = 1_000_000;

function writeCapture(path: string): { bytes: number; packets: number } {
  const records: Buffer[] = [];
  for (let i = 0; i < 1000; i++) {
    const frame = buildTcp({
      family: 4,
      source: `198.18.${(i >> 8) & 255}.${i & 255}`,
      destination: '192.0.2.1',
      sourcePort: 40000,
      destinationPort: 1 + (i % 50),
      flags: 0x02,
      payload: new Uint8Array(1400),
    });
    records.push(pcapRecord(1_700_000_000_000_000 + i * 1000, frame));
  }
  const batch = Buffer.concat(records);
  const fd = openSync(path, 'w');
  let bytes = writeSync(fd, pcapHeader(1));
  let packets = 0;
  while (bytes < CAPTURE_BYTES) {
    bytes += writeSync(fd, batch);
    packets += records.length;
  }
  closeSync(fd);
  return { bytes, packets };
}

/** A preload that prints the process's peak RSS at exit (process.resourceUsage().maxRSS, KiB). */
function writePreload(dir: string): string {
  const preload = join(dir, 'max-rss.mjs');
  writeFileSync(
    preload,
    "process.on('exit', () => process.stderr.write(`max-rss-kib ${process.resourceUsage().maxRSS}\\n`));\n",
  );
  return preload;
}

function replayFigures(dir: string, progress: (text: string) => void): string[] {
  const pcap = join(dir, 'big.pcap');
  progress('memory: writing a 1.2 GB capture');
  const { bytes, packets } = writeCapture(pcap);
  const conf = join(dir, 'portsentry.conf');
  writeFileSync(
    conf,
    ['IGNORE_FILE', 'HISTORY_FILE', 'BLOCKED_FILE', 'HOSTS_DENY_FILE', 'STATE_DIR', 'SYSLOG_SOCKET']
      .map((key) => `${key}="${join(dir, key.toLowerCase())}"`)
      .concat('BLOCK_TCP="1"', 'BLOCK_BACKEND="classic"', '')
      .join('\n'),
  );
  writeFileSync(join(dir, 'ignore_file'), '');
  const preload = writePreload(dir);
  progress('memory: portsnare replay of it');
  const started = performance.now();
  const run = spawnSync(
    process.execPath,
    ['--import', preload, BIN, 'replay', pcap, '--config', conf, '-stcp'],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const rss = Number(/max-rss-kib (\d+)/.exec(run.stderr)?.[1] ?? NaN) * 1024;
  const summary = /^# (\d+) packets, (\d+) probes/m.exec(run.stdout);
  return [
    `(a) portsnare replay of a ${fixed(bytes / 1e9, 2)} GB capture (${int(packets)} packets, exit ${run.status}):`,
    `    peak RSS ${mib(rss)}, ${fixed(seconds, 1)} s wall (${summary ? `${int(Number(summary[1]))} packets replayed` : 'no summary line'})`,
    '    goal (issue 9): bounded memory whatever the size; the whole-file reader took 1.29 GB RSS on a 1.2 GB file',
  ];
}

/** Sources of (c): each sends one SYN, so the detector's table ends up holding every one. */
const TRACKED_SOURCES = 1_000_000;

/** A capture of one SYN from each of TRACKED_SOURCES addresses of 10.0.0.0/8 to trap port 1. */
function writeSourcesCapture(path: string): number {
  const frame = buildTcp({
    family: 4,
    source: '10.0.0.0',
    destination: '192.0.2.1',
    sourcePort: 40000,
    destinationPort: 1,
    flags: 0x02,
  });
  const batch: Buffer[] = [];
  const fd = openSync(path, 'w');
  let bytes = writeSync(fd, pcapHeader(1));
  for (let i = 0; i < TRACKED_SOURCES; i++) {
    const copy = Buffer.from(frame);
    copy.writeUInt32BE((0x0a000000 + i) >>> 0, 26); // the IPv4 source, behind the 14-byte Ethernet header
    batch.push(pcapRecord(1_700_000_000_000_000 + i * 5, copy)); // 200 kpps of packet time
    if (batch.length === 10_000) bytes += writeSync(fd, Buffer.concat(batch.splice(0)));
  }
  if (batch.length > 0) bytes += writeSync(fd, Buffer.concat(batch));
  closeSync(fd);
  return bytes;
}

/**
 * (c) The whole daemon's stack (`portsnare replay`: decoder, pipeline, detector, alert path, ban
 * keeper, reporter) with MAX_TRACKED_SOURCES=1000000 after a million distinct sources: peak RSS.
 */
function trackedFigures(dir: string, progress: (text: string) => void): string[] {
  const pcap = join(dir, 'sources.pcap');
  progress(`memory: writing a capture of ${int(TRACKED_SOURCES)} sources`);
  const bytes = writeSourcesCapture(pcap);
  const conf = join(dir, 'tracked.conf');
  writeFileSync(
    conf,
    ['IGNORE_FILE', 'HISTORY_FILE', 'BLOCKED_FILE', 'HOSTS_DENY_FILE', 'STATE_DIR', 'SYSLOG_SOCKET']
      .map((key) => `${key}="${join(dir, key.toLowerCase())}"`)
      .concat('BLOCK_TCP="1"', 'BLOCK_BACKEND="classic"', `MAX_TRACKED_SOURCES="${TRACKED_SOURCES}"`, '')
      .join('\n'),
  );
  const preload = writePreload(dir);
  progress('memory: portsnare replay with MAX_TRACKED_SOURCES=1000000');
  const started = performance.now();
  const run = spawnSync(
    process.execPath,
    ['--import', preload, BIN, 'replay', pcap, '--config', conf, '-stcp', '--local', '192.0.2.1'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const seconds = (performance.now() - started) / 1000;
  const rss = Number(/max-rss-kib (\d+)/.exec(run.stderr)?.[1] ?? NaN) * 1024;
  const table = /^# detector: (\d+) source\(s\) tracked in a table of (\d+) slots \(([\d.]+) MiB\)/m.exec(
    run.stdout,
  );
  return [
    `(c) portsnare replay of one SYN from each of ${int(TRACKED_SOURCES)} sources (${fixed(bytes / 1e6, 0)} MB capture, ` +
      `MAX_TRACKED_SOURCES=${TRACKED_SOURCES}, exit ${run.status}):`,
    `    peak RSS ${mib(rss)} for the whole stack, ${fixed(seconds, 1)} s wall; ` +
      (table
        ? `${int(Number(table[1]))} sources tracked in ${int(Number(table[2]))} slots (${table[3]} MiB of typed arrays)`
        : `no detector line (${run.stderr.split('\n')[0] ?? ''})`),
    '    goal (issue 10): at most 150 MB RSS for 1,000,000 tracked sources (a Map per source cost ~600 MiB)',
  ];
}

function ignoreFigures(dir: string, progress: (text: string) => void): string[] {
  progress('memory: an ignore file of 1,000,000 entries');
  const file = join(dir, 'million.ignore');
  const lines: string[] = [];
  for (let i = 0; i < IGNORE_ENTRIES; i++) lines.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const script = `
    const { loadIgnoreFile } = await import(${JSON.stringify(join(ROOT, 'src/config/ignore-file.ts'))});
    globalThis.gc();
    const used = () => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
    const before = used();
    const ignore = await loadIgnoreFile(${JSON.stringify(file)});
    globalThis.gc();
    const kept = used() - before;
    let hits = 0;
    const t0 = performance.now();
    for (let i = 0; i < 1_000_000; i++) if (ignore.set.has(\`10.\${(i >> 15) & 31}.\${(i >> 7) & 255}.\${i & 255}\`)) hits++;
    const ms = performance.now() - t0;
    process.stdout.write(JSON.stringify({ count: ignore.count, kept, rss: process.memoryUsage().rss, lookups: 1e6 / (ms / 1000), hits }));
  `;
  const run = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  if (run.status !== 0) return [`(b) ignore file: the measuring child failed: ${run.stderr.split('\n')[0]}`];
  const r = JSON.parse(run.stdout) as {
    count: number;
    kept: number;
    rss: number;
    lookups: number;
    hits: number;
  };
  return [
    `(b) ignore file of ${int(r.count)} /32 entries: ${mib(r.kept)} of heap and buffers kept, RSS ${mib(r.rss)};`,
    `    ${int(r.lookups)} lookups/s against it (${int(r.hits)} hits of 1,000,000)`,
    '    goal (issue 9): far below the 571 MB a 1,000,000-entry file cost (305 MB heap kept before the prefix structure)',
  ];
}

export function runMemoryBench(progress: (text: string) => void): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'psn-bench-memory-'));
  try {
    return [
      'Part 1b: memory with big inputs',
      ...replayFigures(dir, progress),
      ...ignoreFigures(dir, progress),
      ...trackedFigures(dir, progress),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
