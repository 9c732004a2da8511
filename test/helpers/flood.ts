// Spoofed packet floods for the lab tests: pcaps of TCP SYNs from forged sources, addressed to the
// sensor's eth0 (its MAC and IPv4 address), played by tcpreplay from a lab host's eth0, bounded in
// packet count (--limit) and in time (SIGKILL after a deadline). The frames never leave the lab:
// tcpreplay writes them onto the host's veth, whose peer sits on the lab's bridge, and their
// Ethernet destination is the sensor's MAC. Forged sources come from 198.18.0.0/15 (benchmarking,
// RFC 2544) or whatever the test passes (documentation ranges, lab addresses).
import { writeFile } from 'node:fs/promises';
import { buildTcp, buildUdp } from '../builders/packets.ts';
import { LinkType, TcpFlag } from '../../src/packets/decode.ts';
import { pcapHeader, pcapRecord } from '../../src/packets/pcap-file.ts';
import type { Lab, LabHost, LabProcess } from './netns.ts';

/** One forged SYN: from `source` to the sensor's `port`. */
export interface Syn {
  source: string;
  port: number;
  /** Default a TCP SYN; `udp`: an empty UDP datagram instead. */
  protocol?: 'udp';
}

/** The MAC address of `host`'s eth0. */
export async function macOf(lab: Lab, host: LabHost): Promise<string> {
  const r = await lab.exec(host, ['ip', '-j', 'link', 'show', host.ifname]);
  const [link] = JSON.parse(r.stdout) as { address?: string }[];
  if (!link?.address || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(link.address))
    throw new Error(`no MAC address for ${host.ifname} in ${host.ns}: ${r.stdout}`);
  return link.address;
}

/** Size of 198.18.0.0/15 less the .0 and .255 addresses of each /24. */
export const SPOOF_SPACE = 512 * 254;

/**
 * The `index`-th address of 198.18.0.0/15, skipping x.x.x.0 and x.x.x.255 (0 <= index < SPOOF_SPACE).
 * Distinct indexes give distinct addresses.
 */
export function spoofedSource(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= SPOOF_SPACE)
    throw new RangeError(`spoofed source index out of range: ${index}`);
  const block = Math.floor(index / 254); // which /24, 0-511
  return `198.${18 + (block >> 8)}.${block & 255}.${(index % 254) + 1}`;
}

/** Whether `address` is in 198.18.0.0/15. */
export function isSpoofSpace(address: string): boolean {
  return /^198\.1[89]\.\d{1,3}\.\d{1,3}$/.test(address);
}

/**
 * Writes an Ethernet pcap of one IPv4 SYN per entry of `syns`, in order, from `fromMac` to the
 * sensor (`to.mac`, `to.ipv4`), with correct checksums and random source ports and sequence numbers.
 * Returns how many packets it holds.
 */
export async function writeSynPcap(
  path: string,
  syns: readonly Syn[],
  to: { ipv4: string; ipv6?: string; mac: string },
  fromMac: string,
): Promise<number> {
  const parts: Buffer[] = [pcapHeader(LinkType.ETHERNET)];
  const t0 = Date.UTC(2026, 0, 1) * 1000;
  syns.forEach((syn, n) => {
    const v6 = syn.source.includes(':');
    if (v6 && to.ipv6 === undefined) throw new RangeError('an IPv6 source needs to.ipv6');
    const spec = {
      family: v6 ? (6 as const) : (4 as const),
      source: syn.source,
      destination: v6 ? (to.ipv6 ?? '') : to.ipv4,
      sourcePort: 1024 + Math.floor(Math.random() * 60000),
      destinationPort: syn.port,
      sourceMac: fromMac,
      destinationMac: to.mac,
    };
    const frame =
      syn.protocol === 'udp'
        ? buildUdp(spec)
        : buildTcp({ ...spec, flags: TcpFlag.SYN, seq: Math.floor(Math.random() * 2 ** 32) });
    parts.push(pcapRecord(t0 + n * 10, frame));
  });
  await writeFile(path, Buffer.concat(parts));
  return syns.length;
}

export interface Replay {
  process: LabProcess;
  /** True once tcpreplay has exited (or was killed). */
  finished(): boolean;
  /** Resolves when tcpreplay has exited, with the packets it says it sent (NaN without a summary). */
  done: Promise<{ sent: number; code: number | null; output: string }>;
  /** Ends it now (SIGKILL, by pid). */
  stop(): void;
}

/**
 * Plays `path` once from `from`'s eth0 with tcpreplay at `pps` packets per second, at most `limit`
 * packets (default: all of them, once), and kills it (by pid) after `timeoutMs` at the latest.
 */
export function playPcap(
  lab: Lab,
  from: LabHost,
  path: string,
  opts: { pps: number; limit: number; timeoutMs: number },
): Replay {
  if (!(opts.pps > 0 && opts.limit > 0 && opts.timeoutMs > 0)) throw new RangeError('unbounded replay');
  const proc = lab.spawn(from, [
    'tcpreplay',
    `--intf1=${from.ifname}`,
    `--pps=${opts.pps}`,
    '--timer=nano', // sleeps between packets; the default (gtod) spins a whole core
    `--limit=${opts.limit}`,
    path,
  ]);
  let finished = false;
  const killer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs);
  const done = proc.exited.then(({ code }) => {
    finished = true;
    clearTimeout(killer);
    const output = `${proc.stdout()}\n${proc.stderr()}`;
    const actual = /Actual: (\d+) packets/.exec(output);
    return { sent: actual ? Number(actual[1]) : NaN, code, output };
  });
  return {
    process: proc,
    finished: () => finished,
    done,
    stop() {
      clearTimeout(killer);
      proc.kill('SIGKILL');
    },
  };
}

/** Writes `syns` as a pcap from the lab's scanner to its sensor (its IPv4 and IPv6 addresses). */
export async function writeLabPcap(lab: Lab, path: string, syns: readonly Syn[]): Promise<number> {
  const sensor = { ipv4: lab.sensor.ipv4, ipv6: lab.sensor.ipv6, mac: await macOf(lab, lab.sensor) };
  return writeSynPcap(path, syns, sensor, await macOf(lab, lab.scanner));
}

/** `nmap -sS` of `ports` on `target` from a lab host: no DNS, no ping, `retries` retransmissions. */
export function synScanArgv(ports: readonly number[], target: string, retries = 0): string[] {
  return ['nmap', '-n', '-Pn', '-sS', '--max-retries', String(retries), '-p', ports.join(','), target];
}
