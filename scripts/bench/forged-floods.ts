// Part 1c of `npm run bench`: the forged floods of issue 10, in packet time, through the daemon's
// own alert path (AlertPath + Detector with the built-in settings of -stcp, ban keeper stand-in that
// records bans), on one core, no root. For each rate (5, 50, 100, 200 kpps) and kind:
// - random: every SYN from a random source of 198.18.0.0/15 to a random one of 15 trap ports;
// - imitating: each forged source sends a 5-port burst within 2 ms, up to 10,000 sources a second
//   (as many as the rate allows: 1,000 at 5 kpps), the rest of the rate random;
// 10 s of flood; 4 s in, a real scanner sends 5 SYNs to 5 trap ports within 1 ms. Printed: forged
// bans (and per minute of flood), the scanner's time from first probe to ban (packet time), the
// sequential test's bar at the end, and the probes/s of the whole path (wall clock).
// The flood's timing in packet time is exact, so these are the detector's decisions, not the
// capture's: the live floods with tcpreplay are in test/e2e/forged-floods.test.ts.
import { settingsFromConf } from '../../src/config/settings.ts';
import { AlertPath } from '../../src/decide/alert-path.ts';
import { Detector } from '../../src/detect/detector.ts';
import type { ProbeEvent } from '../../src/detect/probe.ts';
import { triggerSettings } from '../../src/daemon/stack.ts';
import { CidrSet } from '../../src/net/cidr-set.ts';
import { fixed, int } from './stats.ts';
import { prng as random } from '../../test/builders/fuzz.ts';

const TRAPS = [1, 11, 15, 79, 111, 119, 143, 540, 635, 1080, 1524, 2000, 5742, 6667, 12345];
const SCANNER = '203.0.113.9';

interface FloodFigures {
  forgedBans: number;
  scannerMs: number;
  bar: number;
  probesPerSecond: number;
  capped: number;
}

async function floodRun(pps: number, imitating: boolean, seconds: number): Promise<FloodFigures> {
  const settings = { ...settingsFromConf(null).settings, blockTcp: 1 as const };
  const detector = new Detector({ ignore: new CidrSet(), own: new CidrSet() }, triggerSettings(settings));
  const banned = new Map<string, number>();
  let now = 0;
  const path = new AlertPath({
    detector,
    neverBlock: { reason: () => '' },
    bans: () => ({
      has: (a: string) => banned.has(a),
      ban: (req: { address: string }) => {
        banned.set(req.address, now);
        return Promise.resolve({ ok: true as const }) as never;
      },
    }),
    ledger: { has: () => Promise.resolve(false) },
    report: { log: () => undefined, blocked: () => Promise.resolve() },
    settings: () => settings,
    resolver: { nameOf: (a) => Promise.resolve(a) },
    now: () => now,
  });
  const r = random(pps + (imitating ? 1 : 0));
  const t0 = 1_800_000_000_000;
  const scanAt = t0 + 4_000;
  let scannerFirst = -1;
  let sent = 0;
  let source = '';
  let burstLeft = 0;
  let burstStart = 0;
  const n = pps * seconds;
  const event = (src: string, port: number, time: number): ProbeEvent => ({
    mode: 'stcp',
    protocol: 'tcp',
    evidence: 'packet',
    source: src,
    port,
    time,
    label: 'TCP SYN/Normal scan',
  });
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const time = t0 + (i * 1000) / pps;
    now = time;
    let port: number;
    if (imitating) {
      // 10,000 sources a second, each a 5-port burst within 2 ms; the rest of the rate is random.
      if (burstLeft === 0 && time - burstStart >= 0.1) {
        source = `198.${18 + Math.floor(r() * 2)}.${Math.floor(r() * 256)}.${1 + Math.floor(r() * 254)}`;
        burstLeft = 5;
        burstStart = time;
      }
      if (burstLeft > 0) {
        port = TRAPS[5 - burstLeft]!;
        burstLeft--;
      } else {
        source = `198.${18 + Math.floor(r() * 2)}.${Math.floor(r() * 256)}.${1 + Math.floor(r() * 254)}`;
        port = TRAPS[Math.floor(r() * TRAPS.length)]!;
      }
      path.onProbe(event(source, port, time));
    } else {
      source = `198.${18 + Math.floor(r() * 2)}.${Math.floor(r() * 256)}.${1 + Math.floor(r() * 254)}`;
      port = TRAPS[Math.floor(r() * TRAPS.length)]!;
      path.onProbe(event(source, port, time));
    }
    if (time >= scanAt && sent < 5) {
      const at = scanAt + sent * 0.25;
      if (scannerFirst < 0) scannerFirst = at;
      now = at;
      path.onProbe(event(SCANNER, 20_000 + sent++, at));
      // The ban's time is the packet clock when the keeper is asked: settle now, not 1024 probes on.
      await path.settled();
    }
    if ((i & 1023) === 0) await path.settled();
  }
  await path.settled();
  const elapsed = (performance.now() - start) / 1000;
  const scannerBan = banned.get(SCANNER);
  return {
    forgedBans: [...banned.keys()].filter((a) => a !== SCANNER).length,
    scannerMs: scannerBan === undefined ? -1 : scannerBan - scannerFirst,
    bar: detector.background()?.threshold ?? 0,
    probesPerSecond: n / elapsed,
    capped: path.counters.blocksCappedPacket,
  };
}

export async function runForgedFloodBench(progress: (s: string) => void): Promise<string[]> {
  const lines = [
    'Part 1c: forged floods in packet time (issue 10), -stcp, built-in settings, 10 s each, a 5-SYN',
    'scanner 4 s in; through AlertPath + Detector (bans recorded, not enforced).',
    '  kind        rate    forged bans (/min)   scanner banned after   bar ln A   capped   path probes/s',
  ];
  for (const imitating of [false, true]) {
    for (const pps of [5_000, 50_000, 100_000, 200_000]) {
      progress(`forged floods: ${imitating ? 'imitating' : 'random'} ${pps} pps`);
      const f = await floodRun(pps, imitating, 10);
      lines.push(
        `  ${(imitating ? 'imitating' : 'random').padEnd(10)} ${`${pps / 1000}k`.padStart(5)}   ` +
          `${String(f.forgedBans).padStart(6)} (${fixed(f.forgedBans / (10 / 60), 0).padStart(5)})        ` +
          `${f.scannerMs < 0 ? 'never'.padStart(8) : `${fixed(f.scannerMs, 2)} ms`.padStart(8)}             ` +
          `${fixed(f.bar, 1).padStart(5)}   ${String(f.capped).padStart(6)}   ${int(f.probesPerSecond).padStart(12)}`,
      );
    }
  }
  return lines;
}
