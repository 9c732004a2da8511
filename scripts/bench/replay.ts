// Part 1 of `npm run bench`: replay throughput of the packet modes' code, on one core, no root.
//
// What it measures, on a synthetic capture held in memory (scripts/bench/synthetic-capture.ts):
// (a) `decodeInto` (the numeric decoder the pipeline uses) alone over every frame;
// (b) the daemon's own path per packet: `PacketPipeline.handle` (decodeInto, `packetProbeOf` with the
//     watch plan of `-atcp -audp` from `buildWatchPlan` on built-in settings) feeding
//     `Detector.judgePacket` (empty ignore list, `ownAddressSet` of the sensor's addresses, triggers
//     from the settings: SCAN_TRIGGER, STEALTH_TRIGGER_PORTS, STEALTH_TRIGGER_WINDOW, the sequential
//     test, the default MAX_TRACKED_SOURCES table); nothing is allocated per packet below an alert;
// (b2) the same over a capture whose spoofed sources are fewer than the detector's table holds;
// (c) the decoder fuzz loop `fuzzDecoder(iterations, seed)`;
// plus micro-measurements of the detector's per-probe table and list lookups, to show where (b)'s time goes.
// Each pass is timed with process.hrtime around the whole loop and divided by the packets. Each
// figure takes up to `runs` passes (a fresh pipeline and detector each time; no new pass starts once
// the passes took 20 s, so the slow case runs once) and reports the best and the median. A view of
// each frame (`subarray`) is made inside the timed loop, as the live capture does for each packet
// of a batch. Not included: libpcap, the kernel, the socket-table lookup (`isServed` answers "no
// service", as in `portsnare replay`), and what follows an alert (logging, responding).
// Also reported: pipeline counters, verdicts, which sources alerted (the real scanners must, the
// spoofed sources must not), the detector's table size, and heap/RSS after the run (after a forced
// GC, via v8.setFlagsFromString('--expose-gc')).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { settingsFromConf } from '../../src/config/settings.ts';
import { PacketPipeline, type PipelineCounters } from '../../src/sensors/packet-pipeline.ts';
import { buildWatchPlan } from '../../src/sensors/watch-plan.ts';
import { Detector, type TriggerSettings } from '../../src/detect/detector.ts';
import type { WatchPlan } from '../../src/detect/packet-probe.ts';
import { ScanScores } from '../../src/detect/scan-scores.ts';
import { DEFAULT_SEQUENTIAL } from '../../src/detect/sequential-test.ts';
import { DEFAULT_MAX_TRACKED_SOURCES } from '../../src/detect/trigger.ts';
import { addressText } from '../../src/net/address-words.ts';
import { CidrSet } from '../../src/net/cidr-set.ts';
import { ownAddressSet } from '../../src/net/host-addresses.ts';
import { decodeInto, LinkType, PacketFields } from '../../src/packets/decode.ts';
import { fuzzDecoder } from '../../test/builders/fuzz.ts';
import type { BenchOptions } from './options.ts';
import { fixed, int, median, mib } from './stats.ts';
import { buildSyntheticCapture, SENSOR_V4, SENSOR_V6, type SyntheticCapture } from './synthetic-capture.ts';

/** A full garbage collection, if V8 lets us have one (heap figures are taken after it). */
const gc: (() => void) | undefined = (() => {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
})();

function collect(): void {
  gc?.();
  gc?.();
}

/** Timed passes of one measurement stop once they add up to this (at least one always runs). */
const RUN_BUDGET_NS = 20e9;

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function nsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start);
}

function decodeOnly(cap: SyntheticCapture): { ns: number; ok: number } {
  const { frames, offsets, count } = cap;
  let ok = 0;
  const start = process.hrtime.bigint();
  const fields = new PacketFields();
  for (let i = 0; i < count; i++) {
    if (decodeInto(LinkType.ETHERNET, frames.subarray(offsets[i], offsets[i + 1]), fields) === null) ok++;
  }
  return { ns: nsSince(start), ok };
}

interface DetectRun {
  ns: number;
  counters: PipelineCounters;
  verdicts: { alert: number; belowTrigger: number; ignored: number };
  /** Alerts per source. */
  alerted: Map<string, number>;
  logged: number;
  /** Kept alive only so that the heap it holds can be measured. */
  retained: { pipeline: PacketPipeline; detector: Detector } | null;
}

function lists() {
  return { ignore: new CidrSet(), own: ownAddressSet([SENSOR_V4, SENSOR_V6]) };
}

function localSet(): CidrSet {
  const local = new CidrSet();
  local.addAddress(SENSOR_V4);
  local.addAddress(SENSOR_V6);
  return local;
}

function detectRun(cap: SyntheticCapture, plan: WatchPlan, triggers: TriggerSettings): DetectRun {
  const local = localSet();
  const detector = new Detector(lists(), triggers);
  const verdicts = { alert: 0, belowTrigger: 0, ignored: 0 };
  const alerted = new Map<string, number>();
  let logged = 0;
  const pipeline = new PacketPipeline(
    plan,
    { isLocal: (address) => local.hasWords(address), isServed: () => false },
    (probe) => {
      const verdict = detector.judgePacket(probe);
      if (verdict === null) verdicts.belowTrigger++;
      else if (verdict.kind === 'alert') {
        verdicts.alert++;
        const source = addressText(probe.fields.source);
        alerted.set(source, (alerted.get(source) ?? 0) + 1);
      } else if (verdict.kind === 'below-trigger') verdicts.belowTrigger++;
      else verdicts.ignored++;
    },
    () => logged++,
  );
  const { frames, offsets, count, startMs, stepMs } = cap;
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    pipeline.handle(LinkType.ETHERNET, frames.subarray(offsets[i], offsets[i + 1]), startMs + i * stepMs);
  }
  const ns = nsSince(start);
  return { ns, counters: pipeline.counters, verdicts, alerted, logged, retained: { pipeline, detector } };
}

/**
 * Cost of one ScanScores.hit (the detector's fixed-size table, default MAX_TRACKED_SOURCES) when
 * `sources` distinct sources take turns: below the table's size most hits find their slot; above
 * it most replace the slot seen longest ago in their bucket.
 */
function scoresHitNs(sources: number, hits: number): number {
  const scores = new ScanScores(3, 10_000, 0, DEFAULT_SEQUENTIAL, DEFAULT_MAX_TRACKED_SOURCES);
  const words = new Uint32Array(4 * sources);
  for (let i = 0; i < sources; i++) words.set([0, 0, 0xffff, (0xc6120000 + i) >>> 0], 4 * i);
  for (let i = 0; i < sources; i++) scores.hit(words.subarray(4 * i, 4 * i + 4), 80, 0); // fill first
  const views = Array.from({ length: sources }, (_, i) => words.subarray(4 * i, 4 * i + 4));
  const start = process.hrtime.bigint();
  for (let i = 0; i < hits; i++) scores.hit(views[i % sources]!, 80, 1);
  return nsSince(start) / hits;
}

/** Cost of one `has()` on the detector's own-address set (which holds 127.0.0.0/8 as a block). */
function ownLookupNs(): { hit: number; miss: number } {
  const own = ownAddressSet([SENSOR_V4, SENSOR_V6]);
  const sources = Array.from({ length: 4096 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
  const n = 300_000;
  let found = 0;
  let start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (own.has(sources[i & 4095]!)) found++;
  const miss = nsSince(start) / n;
  start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (own.has(SENSOR_V4)) found++;
  const hit = nsSince(start) / n;
  if (found !== n) throw new Error('own-address lookup gave unexpected answers');
  return { hit, miss };
}

function rate(ns: number, packets: number): string {
  return `${fixed((packets / ns) * 1e3, 3)} M packets/s, ${fixed(ns / packets, 0)} ns/packet`;
}

function bestAndMedian(samples: number[], packets: number): string {
  const best = Math.min(...samples);
  const medianText = samples.length > 1 ? `; median ${fixed(median(samples) / packets, 0)} ns/packet` : '';
  return `${rate(best, packets)} (best of ${samples.length}${medianText})`;
}

function detectRuns(
  cap: SyntheticCapture,
  plan: WatchPlan,
  triggers: TriggerSettings,
  runs: number,
  label: string,
  progress: (text: string) => void,
): { samples: number[]; last: DetectRun } {
  const samples: number[] = [];
  let last: DetectRun | null = null;
  for (let r = 0; r < runs && (r === 0 || sum(samples) < RUN_BUDGET_NS); r++) {
    progress(`${label}, run ${r + 1}/${runs}`);
    last = null; // let the previous run's tables go before the next run
    collect();
    last = detectRun(cap, plan, triggers);
    samples.push(last.ns);
  }
  if (!last) throw new Error('no run');
  return { samples, last };
}

function describeAlerts(cap: SyntheticCapture, run: DetectRun, stealthPorts: number): string[] {
  const scannerSources = new Set(cap.scanners.map((s) => s.source));
  const found = [...scannerSources].filter((s) => run.alerted.has(s));
  const missed = [...scannerSources].filter((s) => !run.alerted.has(s));
  const others = [...run.alerted.keys()].filter((s) => !scannerSources.has(s));
  const perScanner = [...new Set(cap.scanners.map((s) => run.alerted.get(s.source) ?? 0))];
  return [
    `Alerts: ${int(run.verdicts.alert)} (${run.alerted.size} sources). Real scanners found: ${found.length} of ` +
      `${scannerSources.size}${missed.length ? ` (MISSED: ${missed.join(', ')})` : ' (all)'}; other sources ` +
      `alerted: ${others.length}${others.length ? ` (${others.slice(0, 5).join(', ')}${others.length > 5 ? ', ...' : ''})` : ' (none of the spoofed ones)'}.`,
    `Per scanner: ${perScanner.join('/')} alerts for ${cap.scanners[0]?.ports ?? 0} probes (every probe from the ` +
      `${stealthPorts}rd distinct port on); other verdicts: ${int(run.verdicts.belowTrigger)} below trigger, ` +
      `${int(run.verdicts.ignored)} ignored.`,
  ];
}

export function runReplayBench(opts: BenchOptions, progress: (text: string) => void): string[] {
  const out: string[] = [];
  const say = (line = '') => out.push(line === '' ? '' : `  ${line}`);
  const { settings } = settingsFromConf(null);
  const { plan } = buildWatchPlan(settings, ['atcp', 'audp'], () => []);
  const triggers: TriggerSettings = {
    scanTrigger: settings.scanTrigger,
    stealthPorts: settings.stealthTriggerPorts,
    stealthWindowMs: settings.stealthTriggerWindow * 1000,
  };
  const spec = {
    packets: opts.packets,
    seed: opts.seed,
    excludedTcp: settings.advancedExcludeTcp,
    excludedUdp: settings.advancedExcludeUdp,
  };

  progress(`building a synthetic capture of ${int(opts.packets)} packets`);
  collect();
  const heapBase = process.memoryUsage().heapUsed;
  let cap: SyntheticCapture | null = buildSyntheticCapture({ ...spec, spoofBits4: 17, spoofBits6: 0 });
  out.push('Part 1: replay throughput of decode + detect (one core, no root)');
  out.push('');
  say(
    `Capture: ${int(cap.count)} Ethernet frames, ${mib(cap.frames.length)} in one buffer, built in ` +
      `${fixed(cap.buildMs / 1000, 1)} s from ${cap.templates} templates made by buildTcp/buildUdp`,
  );
  say(
    '(addresses, ports and flags patched into copies; checksums left stale, the decoder ignores them). Mix:',
  );
  for (const [kind, n] of Object.entries(cap.kinds)) {
    say(`  ${kind.padEnd(18)} ${int(n).padStart(11)}  (${fixed((100 * n) / cap.count, 2)} %)`);
  }
  say('Spoofed IPv4: 198.18.0.0/15 (131,072 addresses, visited in a permuted cycle, each always to the same');
  say(
    'port, so no spoofed source ever shows the 3 distinct ports of the trigger); spoofed IPv6: a new random',
  );
  say('address in 2001:db8:ffff::/48 each time. Conversation packets (ACK/RST set) go to watched ports.');
  say(
    `Scanners: ${cap.scanners.length} sources, ${cap.scanners[0]?.ports ?? 0} distinct ports each, one probe every ~4 ms:`,
  );
  say(`  ${cap.scanners.map((s) => s.source).join(', ')}`);
  say('Packet times advance 0.1 ms per packet (a simulated 10 kpps; it matters only to the trigger window).');
  say(
    `Settings: built-in defaults; modes -atcp -audp (TCP ports < ${settings.advancedPortsTcp} except ` +
      `${settings.advancedExcludeTcp.join(',')}, UDP < ${settings.advancedPortsUdp} except ` +
      `${settings.advancedExcludeUdp.join(',')});`,
  );
  say(
    `SCAN_TRIGGER=${settings.scanTrigger}, STEALTH_TRIGGER_PORTS=${settings.stealthTriggerPorts}, ` +
      `STEALTH_TRIGGER_WINDOW=${settings.stealthTriggerWindow} s. Sensor ${SENSOR_V4} and ${SENSOR_V6} ` +
      '(local and own); ignore list empty; isServed always "no".',
  );
  say('Timing: process.hrtime around the whole loop over the capture, divided by its packets; one thread;');
  say(
    `up to ${opts.runs} runs per figure, none started once the runs took 20 s; fresh pipeline and detector per run.`,
  );
  say('');

  // (a) decode only.
  const decodeNs: number[] = [];
  let decodedOk = 0;
  for (let r = 0; r < opts.runs && (r === 0 || sum(decodeNs) < RUN_BUDGET_NS); r++) {
    progress(`(a) decode only, run ${r + 1}/${opts.runs}`);
    const run = decodeOnly(cap);
    decodeNs.push(run.ns);
    decodedOk = run.ok;
  }
  say(`(a) decodeInto only (numeric):      ${bestAndMedian(decodeNs, cap.count)}`);
  say(`    ${int(decodedOk)} of ${int(cap.count)} frames decoded.`);

  // (b) decode + pipeline + detector.
  const b = detectRuns(cap, plan, triggers, opts.runs, '(b) pipeline + detector', progress);
  const c = b.last.counters;
  say(`(b) PacketPipeline + Detector.judgePacket: ${bestAndMedian(b.samples, cap.count)}`);
  say(
    `    that is ${fixed((c.probes / Math.min(...b.samples)) * 1e3, 3)} M probes/s judged. Pipeline: ` +
      `${int(c.packets)} packets, ${int(c.probes)} probes, malformed ${JSON.stringify(c.malformed)},`,
  );
  say(`    skipped ${JSON.stringify(c.skipped)}, ${b.last.logged} log lines.`);
  for (const line of describeAlerts(cap, b.last, settings.stealthTriggerPorts)) say(`    ${line}`);
  collect();
  const withDetector = process.memoryUsage();
  const table = b.last.retained?.detector.table();
  b.last.retained = null;
  collect();
  const without = process.memoryUsage();
  say(
    `    Detector state: ${int(table?.tracked ?? 0)} sources in its fixed-size table of ${int(table?.slots ?? 0)} ` +
      `slots (MAX_TRACKED_SOURCES ${int(DEFAULT_MAX_TRACKED_SOURCES)}; ${mib(table?.bytes ?? 0)} of typed arrays, allocated at start);`,
  );
  say(
    `    the sources seen longest ago in a full bucket are replaced. Heap ` +
      `held by pipeline + detector: ${mib(withDetector.heapUsed - without.heapUsed)}.`,
  );
  say(
    `    Process after the run: RSS ${mib(withDetector.rss)}, heap used ${mib(withDetector.heapUsed)} ` +
      `(of ${mib(withDetector.heapTotal)}), off-heap ${mib(withDetector.external)} (the capture: ` +
      `${mib(cap.frames.length + cap.offsets.byteLength)}); heap before the capture ${mib(heapBase)}.` +
      `${gc ? '' : ' No forced GC was available: heap figures include garbage.'}`,
  );
  say('');
  const ownNs = ownLookupNs();
  const decodeBest = Math.min(...decodeNs) / cap.count;

  // (b2) the same with fewer sources than the detector's table holds.
  cap = null;
  collect();
  progress('(b2) building the capture with fewer spoofed sources');
  const small = buildSyntheticCapture({ ...spec, spoofBits4: 15, spoofBits6: 12 });
  const b2 = detectRuns(
    small,
    plan,
    triggers,
    opts.runs,
    '(b2) pipeline + detector, fewer sources',
    progress,
  );
  say(`(b2) The same traffic, but spoofed sources from 198.18.0.0/17 (32,768) and 4,096 IPv6 addresses,`);
  say(`    fewer than the detector's table holds:`);
  say(`    PacketPipeline + Detector.judgePacket:  ${bestAndMedian(b2.samples, small.count)}`);
  for (const line of describeAlerts(small, b2.last, settings.stealthTriggerPorts)) say(`    ${line}`);
  say(`    Detector state: ${int(b2.last.retained?.detector.table().tracked ?? 0)} sources in its table.`);
  b2.last.retained = null;
  say('');

  progress('micro-measurements');
  const hitBelow = scoresHitNs(40_000, 400_000);
  const hitAbove = scoresHitNs(200_000, 400_000);
  say('Where the time of (b) goes (separate micro-measurements, same code):');
  say(`  decodeInto: ${fixed(decodeBest, 0)} ns per packet (from (a)).`);
  say(
    `  ScanScores.hit (the fixed-size table and the sequential test): ${fixed(hitBelow, 0)} ns with 40,000 ` +
      `sources taking turns (they fit), ${fixed(hitAbove, 0)} ns with 200,000 (most hits replace a slot).`,
  );
  say(
    `  Own-address check (CidrSet.has; 127.0.0.0/8 is held as a block, compared by parsing the address): ` +
      `${fixed(ownNs.miss, 0)} ns for an address outside the set, ${fixed(ownNs.hit, 0)} ns for a listed host.`,
  );
  say('');

  // (c) fuzz.
  if (opts.fuzz > 0) {
    progress(`(c) fuzzDecoder(${int(opts.fuzz)}, ${opts.seed})`);
    const start = process.hrtime.bigint();
    try {
      const stats = fuzzDecoder(opts.fuzz, opts.seed);
      const ns = nsSince(start);
      say(
        `(c) fuzzDecoder(${opts.fuzz}, ${opts.seed}): ${rate(ns, opts.fuzz)} (generating the mutations included)`,
      );
      const dropped = Object.entries(stats.dropped)
        .filter(([, n]) => n > 0)
        .map(([reason, n]) => `${reason} ${int(n)}`)
        .join(', ');
      say(
        `    Nothing threw and no decoded packet broke the contract. ${int(stats.decoded)} decoded; dropped:`,
      );
      say(`    ${dropped}.`);
    } catch (err) {
      say(`(c) fuzzDecoder(${opts.fuzz}, ${opts.seed}): FAILED after ${fixed(nsSince(start) / 1e9, 1)} s:`);
      say(`    ${(err as Error).message.slice(0, 2000)}`);
    }
  } else {
    say('(c) Decoder fuzz loop skipped (--fuzz 0).');
  }
  return out;
}
