// Part 2b of `npm run bench` (root): the built daemon at scale, in network namespaces. The daemon
// (`bin/portsnare -stcp`, MAX_TRACKED_SOURCES=1000000, BLOCK_BACKEND=nft) captures in the lab's
// sensor namespace; tcpreplay plays, from the scanner namespace, one SYN from each of 1,000,000
// distinct forged sources (131,072 of 198.18.0.0/15, the rest of 2001:db8:f000::/36) to one of 15
// trap ports, at each rate asked (default 100,000 and 200,000 packets/s). 2 s into each flood a real
// scanner (nmap -sS, 5 trap ports) starts. Reported per rate: what tcpreplay sent, what the daemon
// captured, decoded and judged, what the kernel dropped (libpcap's counters; the daemon also logs
// them), the daemon's peak RSS (VmHWM of /proc/<pid>/status) with its table full, sources tracked,
// forged sources banned, and the scanner's time from nmap's start to its element in the nft set.
// Every process runs in a lab namespace and is ended by pid; the namespaces are deleted in `finally`.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { nftSetElements, prepareFiles, readCounters, startDaemon } from '../../test/helpers/daemon.ts';
import { playPcap, synScanArgv, writeLabPcap, type Syn } from '../../test/helpers/flood.ts';
import { createLab, waitFor } from '../../test/helpers/netns.ts';
import { prng as random } from '../../test/builders/fuzz.ts';
import { fixed, int, mib } from './stats.ts';

const SOURCES = 1_000_000;
const TRAPS = [1, 11, 15, 79, 111, 119, 143, 540, 635, 1080, 1524, 2000, 5742, 6667, 12345];
const SCAN_PORTS = [31337, 32771, 40421, 49724, 54320];

function forgedSyns(): Syn[] {
  const r = random(SOURCES);
  const syns: Syn[] = [];
  for (let i = 0; i < SOURCES; i++) {
    const port = TRAPS[Math.floor(r() * TRAPS.length)]!;
    const source =
      i < 131_072
        ? `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`
        : `2001:db8:f${((i >> 16) & 0xfff).toString(16).padStart(3, '0')}::${(i & 0xffff).toString(16)}`;
    syns.push({ source, port });
  }
  // Shuffled, so the two families interleave.
  for (let i = syns.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [syns[i], syns[j]] = [syns[j]!, syns[i]!];
  }
  return syns;
}

function status(pid: number, key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

async function floodAt(
  rate: number,
  syns: readonly Syn[],
  progress: (text: string) => void,
): Promise<string[]> {
  const lab = await createLab();
  try {
    const files = await prepareFiles({
      TCP_PORTS: [...TRAPS, ...SCAN_PORTS].join(','),
      UDP_PORTS: '9',
      BLOCK_TCP: '1',
      BLOCK_BACKEND: 'nft',
      MAX_TRACKED_SOURCES: String(SOURCES),
    });
    const daemon = await startDaemon(lab, files, ['-stcp']);
    try {
      const pcap = join(files.dir, 'sources.pcap');
      progress(`scale: writing the pcap of ${int(SOURCES)} sources`);
      await writeLabPcap(lab, pcap, syns);
      const pid = daemon.process.pid;
      const rssIdle = status(pid, 'VmRSS');
      progress(`scale: flood of ${int(SOURCES)} sources at ${int(rate)} packets/s`);
      const replay = playPcap(lab, lab.scanner, pcap, {
        pps: rate,
        limit: SOURCES,
        timeoutMs: (SOURCES / rate + 20) * 1000,
      });
      await delay(2000);
      const scanStart = performance.now();
      const nmap = lab.spawn(lab.scanner, synScanArgv(SCAN_PORTS, lab.sensor.ipv4));
      let scannerMs = -1;
      try {
        await waitFor(
          async () => (await nftSetElements(lab, 'blocked4')).includes(lab.scanner.ipv4) || null,
          { timeoutMs: 5000, intervalMs: 20, what: 'the scanner in the nft set' },
        );
        scannerMs = performance.now() - scanStart;
      } catch {
        scannerMs = -1;
      }
      await nmap.exited;
      const sent = await replay.done;
      // Let the daemon work through what it captured.
      let counters = await readCounters(daemon);
      for (let i = 0; i < 20; i++) {
        await delay(500);
        const next = await readCounters(daemon);
        const settled = next['capture.packets'] === counters['capture.packets'];
        counters = next;
        if (settled) break;
      }
      const peak = status(pid, 'VmHWM');
      const bans = [...(await nftSetElements(lab, 'blocked4')), ...(await nftSetElements(lab, 'blocked6'))];
      const forged = bans.filter((a) => a !== lab.scanner.ipv4).length;
      const c = (key: string) => int(counters[key] ?? NaN);
      const achieved = /Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/.exec(sent.output);
      return [
        `  ${int(rate)} packets/s offered: tcpreplay sent ${int(sent.sent)}` +
          `${achieved ? ` (${int(Number(achieved[1]))} packets/s achieved)` : ''}; the daemon's capture received ` +
          `${c('capture.captured')}, kernel/libpcap dropped ${c('capture.captureDropped')}; decoded ${c('capture.packets')}, ` +
          `judged ${c('capture.probes')} probes;`,
        `    sources tracked ${c('trackedSources')} (MAX_TRACKED_SOURCES=${int(SOURCES)}); daemon RSS ${mib(rssIdle)} ` +
          `before the flood, peak ${mib(peak)} (VmHWM);`,
        `    forged sources banned: ${forged}; the real scanner (nmap -sS, 5 ports, 2 s in) in the nft set ` +
          `${scannerMs >= 0 ? `${fixed(scannerMs, 0)} ms after nmap started` : 'NEVER (5 s)'}; capped ${c('blocksCappedPacket')}.`,
      ];
    } finally {
      await daemon.cleanup();
    }
  } finally {
    await lab.destroy();
  }
}

export async function runLiveScaleBench(
  rates: readonly number[],
  progress: (text: string) => void,
): Promise<string[]> {
  const out = [
    `Part 2b: the daemon at scale: ${int(SOURCES)} forged sources, MAX_TRACKED_SOURCES=${int(SOURCES)} (root)`,
    '',
  ];
  if (process.getuid?.() !== 0) return [...out, '  Skipped: needs root (network namespaces).'];
  const missing = ['tcpreplay', 'nmap', 'nft'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
  );
  if (missing.length > 0) return [...out, `  Skipped: ${missing.join(', ')} not installed.`];
  const syns = forgedSyns();
  for (const rate of rates) out.push(...(await floodAt(rate, syns, progress)));
  out.push(
    '  Goals (issue 10): at most 150 MB RSS for the whole daemon with 1,000,000 tracked sources; drops counted;',
    '  no forged source banned; the scanner banned within 50 ms of its first probe (nmap start-up included here).',
  );
  return out;
}
