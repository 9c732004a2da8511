// Part 2 of `npm run bench`: live latency from a scanner's first probe to its block, with the real,
// built daemon (`bin/portsnare -atcp -audp`) capturing in a network namespace. Needs root.
//
// Lab: test/helpers/netns.ts builds a sensor and a scanner namespace joined by a bridge (10.x.y.0/24
// only); the daemon runs in the sensor namespace (test/helpers/daemon.ts) and logs to the bench's
// own syslog socket (test/helpers/syslog-sink.ts). Every process runs inside a lab namespace and is
// ended by pid; the namespaces are deleted in `finally`, and by the helper's own exit and signal
// hooks if the bench dies or is interrupted. Nothing is sent from or to the host's own namespace.
//
// One iteration: `hping3 -a <src> -c 3 -i u100 <flags> -p ++1 <sensor>` in the scanner namespace,
// three probes 100 µs apart to three consecutive ports from a source spoofed in 198.19.0.0/20,
// fresh each time (the sensor has no route there: its answers go nowhere). The daemon blocks a
// source on its third distinct port (STEALTH_TRIGGER_PORTS=3). Timestamps:
// - each probe's arrival: tcpdump in the sensor namespace (`-tt --immediate-mode -l`, filtered on
//   the latency sources), i.e. the kernel's receive time, CLOCK_REALTIME;
// - the block: when the sink receives the daemon's block line, which depends on --block-backend
//   (the daemon's BLOCK_BACKEND; KILL_ROUTE="/usr/sbin/ip route add blackhole $TARGET$",
//   KILL_HOSTS_DENY="" and MAX_BLOCKS_PER_MINUTE="0" in every case: the bench blocks hundreds of
//   sources a minute, and the default cap of 60 would refuse most of them):
//   - classic (the default, as in earlier reports): "attackalert: Host <src> has been blocked via
//     dropped route using command: ...", sent once `ip route add blackhole` has succeeded;
//   - nft: "attackalert: Host <src> has been blocked via nftables set: inet portsnare blocked4 until
//     unblocked", sent once `nft -f -` has added the element to the set (KILL_ROUTE is not run);
//   - both: the later of the two (the daemon adds the set element first, then runs KILL_ROUTE).
//   The bench takes CLOCK_REALTIME there with sub-millisecond resolution: Date.now() is re-anchored
//   to its millisecond edge before each iteration and extended with performance.now(). The unix
//   datagram from the daemon to the sink adds well under a millisecond.
// Reported per scan type: first probe -> block (what a scanner gets to see before it is cut off)
// and third probe -> block (the daemon's own reaction: capture, decode, detect, socket-table
// confirmation, response command, log line).
//
// Loads: idle; then a spoofed SYN flood played by tcpreplay (--timer=nano) from the scanner
// namespace at each rate (default 10,000 and 50,000 packets/s), bounded by --limit to rate x seconds
// (10-20 s: long enough for the iterations; killed 10 s after that at the latest). The flood pcap holds one SYN from each address of 198.18.0.0/15
// outside the latency pool 198.19.0.0/20 (126,976 sources, random order, random port below 1024,
// correct checksums, Ethernet destination = the sensor's MAC); looping it sends every source to the
// same port again, so no flood source can reach 3 distinct ports. During each flood: tcpreplay's own
// summary, the daemon's counters (SIGUSR1) before and after, its CPU time (/proc/<pid>/stat), the
// whole machine's CPU (/proc/stat: the 2 cores are shared with tcpreplay, the kernel and whatever
// else runs), and the bans before and after it, none of which may be a flood source: the blackhole
// routes (classic), the elements of the nftables set (`nft -j list set inet portsnare blocked4` in
// the sensor namespace; nft), or both. Then, for contrast,
// the highest rate again from only 32,768 sources (198.18.0.0/17), fewer than the detector's table
// of 65,536 holds (--no-contrast leaves it out).
// The daemon's pid comes from its pid file (STATE_DIR/portsnare.pid). For scale, the report ends with
// how long `ip route add blackhole` and `nft add element inet portsnare blocked4 { X }` alone take
// when spawned from the bench through `ip netns exec`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { prepareFiles, REPO_ROOT, startDaemon, type RunningDaemon } from '../../test/helpers/daemon.ts';
import { macOf, writeSynPcap } from '../../test/helpers/flood.ts';
import { createLab, listNamespaces, type Lab, type LabProcess } from '../../test/helpers/netns.ts';
import type { BenchOptions, BlockBackend } from './options.ts';
import { fixed, int, median, ms, summarize, table } from './stats.ts';

const SCANS = [
  { name: 'SYN', flags: ['-S'], label: 'TCP SYN/Normal scan' },
  { name: 'FIN', flags: ['-F'], label: 'TCP FIN scan' },
  { name: 'NULL', flags: [], label: ' TCP NULL scan' },
  { name: 'XMAS', flags: ['-F', '-P', '-U'], label: 'TCP XMAS scan' },
  { name: 'UDP', flags: ['--udp'], label: 'UDP scan' },
] as const;
type Scan = (typeof SCANS)[number];

/** Latency sources: 198.19.0.0/20. The flood uses the rest of 198.18.0.0/15. */
const LATENCY_NET = '198.19.0.0/20';
const LATENCY_POOL = 1 << 12;
const BLOCK_TIMEOUT_MS = 3000;
/** The daemon's nftables set for IPv4 bans (src/respond/nft.ts); BLOCK_TIME is 0: no timeout. */
const NFT_TABLE = 'portsnare';
const NFT_SET4 = 'blocked4';
const KILL_ROUTE = '/usr/sbin/ip route add blackhole $TARGET$';
/** PortSentry 1.2 blocks on a scanner's first probe, 1-4 ms after it (src/sensors/capture.ts). */
const PORTSENTRY_FIRST_PROBE_MS = '1-4 ms';

interface Sample {
  scan: string;
  source: string;
  /** First probe -> block, ms. */
  fromFirst: number;
  /** Third probe -> block, ms. */
  fromThird: number;
  /** Third probe -> the alert line ("TCP SYN/Normal scan from host: ..."), logged before the response. */
  alertFromThird: number;
  /** First -> third probe at the sensor, ms. */
  spread: number;
  /** --block-backend both: the nftables line -> the dropped-route line, ms. */
  nftToRoute?: number;
}

/** A log line that marks a block (`text` is the whole line, or its start for the route line). */
interface BlockLine {
  via: 'nft' | 'route';
  text: string;
}

/** The lines that together mark the block of `source`: the block is when the last has arrived. */
function blockLines(backend: BlockBackend, source: string): BlockLine[] {
  const nft: BlockLine = {
    via: 'nft',
    text: `attackalert: Host ${source} has been blocked via nftables set: inet ${NFT_TABLE} ${NFT_SET4} until unblocked`,
  };
  const route: BlockLine = {
    via: 'route',
    text: `attackalert: Host ${source} has been blocked via dropped route using command: `,
  };
  return backend === 'nft' ? [nft] : backend === 'classic' ? [route] : [nft, route];
}

/** What the report calls the block, per backend: the report's lines, and the response step it waits for. */
const BLOCK_WORDING: Record<BlockBackend, { lines: string[]; action: string }> = {
  classic: {
    lines: [
      'the daemon\'s "attackalert: Host <src> has been blocked via dropped route using command: ..." syslog line,',
      'sent once `ip route add blackhole` has succeeded',
    ],
    action: '`ip route add blackhole`',
  },
  nft: {
    lines: [
      `the daemon's "attackalert: Host <src> has been blocked via nftables set: inet ${NFT_TABLE} ${NFT_SET4} until`,
      'unblocked" syslog line, sent once `nft -f -` has added the element (KILL_ROUTE is not run)',
    ],
    action: '`nft -f -` adding the set element',
  },
  both: {
    lines: [
      'the later of the daemon\'s two syslog lines: "attackalert: Host <src> has been blocked via nftables set: inet',
      `${NFT_TABLE} ${NFT_SET4} until unblocked" (once \`nft -f -\` has added the element), then "... has been blocked`,
      'via dropped route using command: ..." (once `ip route add blackhole` has succeeded)',
    ],
    action: '`nft -f -` adding the set element, `ip route add blackhole`',
  },
};

interface Failure {
  scan: string;
  source: string;
  reason: string;
}

interface PhaseResult {
  label: string;
  samples: Sample[];
  failures: Failure[];
  planned: number;
  wallMs: number;
  notes: string[];
}

let aborted = false;

/** Whether SIGINT or SIGTERM cut the live part short. */
export function interrupted(): boolean {
  return aborted;
}

/** Realtime in ms with sub-ms resolution: Date.now()'s last millisecond edge + performance.now(). */
class RealClock {
  #edgeDate = 0;
  #edgePerf = 0;

  anchor(): void {
    const start = Date.now();
    let now = start;
    while (now === start) now = Date.now(); // spins at most 1 ms
    this.#edgePerf = performance.now();
    this.#edgeDate = now;
  }

  now(): number {
    return this.#edgeDate + (performance.now() - this.#edgePerf);
  }
}

/** tcpdump's lines, by source: each packet's kernel receive time in ms since the epoch. */
class ProbeTimes {
  readonly bySource = new Map<string, number[]>();
  #partial = '';
  #waiters = new Set<() => void>();

  feed(chunk: string): void {
    const text = this.#partial + chunk;
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^(\d+)\.(\d{6}) IP (\d+\.\d+\.\d+\.\d+)\.\d+ > /.exec(line);
      if (!m) continue;
      const time = Number(m[1]) * 1000 + Number(m[2]) / 1000;
      const list = this.bySource.get(m[3]!) ?? [];
      list.push(time);
      this.bySource.set(m[3]!, list);
    }
    for (const w of [...this.#waiters]) w();
  }

  /** Resolves with the source's first `n` arrival times, or null after `timeoutMs`. */
  wait(source: string, n: number, timeoutMs: number): Promise<number[] | null> {
    return new Promise((resolve) => {
      const check = () => {
        const list = this.bySource.get(source);
        if (list && list.length >= n) {
          done();
          resolve(list.slice(0, n));
        }
      };
      const timer = setTimeout(() => {
        done();
        resolve(null);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }
}

function latencySource(k: number): string {
  // 198.19.0.0/20, skipping .0 and .255 in the last octet.
  const hosts = 254;
  const third = Math.floor(k / hosts);
  if (third >= LATENCY_POOL / 256) throw new Error('latency source pool exhausted');
  return `198.19.${third}.${(k % hosts) + 1}`;
}

function isLatencySource(address: string): boolean {
  const m = /^198\.19\.(\d+)\.\d+$/.exec(address);
  return m !== null && Number(m[1]) < LATENCY_POOL / 256;
}

function inFloodSpace(address: string): boolean {
  return /^198\.1[89]\./.test(address) && !isLatencySource(address);
}

function clockTicks(): number {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number, ticks: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return NaN; // the process is gone
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ": state is field 3, utime 14, stime 15 (man proc) -> indexes 11 and 12 here.
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

/** Machine-wide CPU time from /proc/stat: busy (everything but idle and iowait) and total, in ticks. */
function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: total - (ticks[3] ?? 0) - (ticks[4] ?? 0), total };
}

/** "143 % of 200 %": how busy all cores were between two machineCpu() readings. */
function machineBusy(
  before: { busy: number; total: number },
  after: { busy: number; total: number },
): string {
  const cores = cpus().length;
  const share = (after.busy - before.busy) / Math.max(1, after.total - before.total);
  return `${fixed(share * cores * 100, 0)} % of ${cores * 100} %`;
}

/** Sources (tests left out) newer than their compiled file in dist/, or without one. */
function staleSources(): string[] {
  const src = join(REPO_ROOT, 'src');
  const stale: string[] = [];
  for (const entry of readdirSync(src, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    const built = join(REPO_ROOT, 'dist', relative(src, path).replace(/\.ts$/, '.js'));
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(path).mtimeMs)
      stale.push(relative(REPO_ROOT, path));
  }
  return stale;
}

/**
 * The flood: one SYN per address of the first `space` addresses of 198.18.0.0/15, less the latency
 * pool, in random order, each to a random port below 1024.
 */
async function writeFloodPcap(
  path: string,
  space: number,
  sensor: { ipv4: string; mac: string },
  scannerMac: string,
): Promise<number> {
  const sources: string[] = [];
  for (let i = 0; i < space; i++) {
    const address = `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    if (!isLatencySource(address)) sources.push(address);
  }
  for (let i = sources.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [sources[i], sources[j]] = [sources[j]!, sources[i]!];
  }
  const syns = sources.map((source) => ({ source, port: 1 + Math.floor(Math.random() * 1023) }));
  return writeSynPcap(path, syns, sensor, scannerMac);
}

/** Sends SIGUSR1 and parses the daemon's "adminalert: Counters: k=v ..." line. */
async function readCounters(daemon: RunningDaemon, pid: number): Promise<Record<string, number>> {
  const prefix = 'adminalert: Counters: ';
  const before = daemon.sink.messages().filter((m) => m.startsWith(prefix)).length;
  process.kill(pid, 'SIGUSR1');
  const records = await daemon.sink.waitForMessage(prefix, { count: before + 1, timeoutMs: 5000 });
  const line = records[records.length - 1]!.message.slice(prefix.length);
  const counters: Record<string, number> = {};
  for (const pair of line.split(' ')) {
    const eq = pair.indexOf('=');
    if (eq > 0) counters[pair.slice(0, eq)] = Number(pair.slice(eq + 1));
  }
  return counters;
}

const COUNTER_KEYS = [
  'capture.captured',
  'capture.captureDropped',
  'capture.packets',
  'capture.probes',
  'belowTrigger',
  'alerts',
  'alertsDropped',
  'blocks',
  'failedResponses',
  'capture.socketTableRefreshes',
];

function counterLines(before: Record<string, number>, after: Record<string, number>): string[] {
  const rows = [['counter', 'before', 'after', 'difference']];
  for (const key of COUNTER_KEYS) {
    const a = before[key];
    const b = after[key];
    if (a === undefined && b === undefined) continue;
    rows.push([key, int(a ?? NaN), int(b ?? NaN), int((b ?? 0) - (a ?? 0))]);
  }
  return table(rows, '    ');
}

interface Bench {
  lab: Lab;
  daemon: RunningDaemon;
  pid: number;
  probes: ProbeTimes;
  clock: RealClock;
  nextSource: number;
  backend: BlockBackend;
}

async function iterate(b: Bench, scan: Scan): Promise<Sample | Failure> {
  const source = latencySource(b.nextSource++);
  const fail = (reason: string): Failure => ({ scan: scan.name, source, reason });
  b.clock.anchor();
  const arrival = (match: string) =>
    b.daemon.sink
      .waitForMessage(match, { timeoutMs: BLOCK_TIMEOUT_MS })
      .then(() => b.clock.now())
      .catch(() => NaN);
  const alerted = arrival(`attackalert: ${scan.label} from host: ${source}/${source} to `);
  const lines = blockLines(b.backend, source);
  const lineArrivals = lines.map((line) => arrival(line.text));
  // The block: the last of its lines (NaN if any of them is missing).
  const blocked = Promise.all(lineArrivals).then((times) => Math.max(...times));
  let hping: LabProcess;
  try {
    hping = b.lab.spawn(b.lab.scanner, [
      'hping3',
      '-q',
      '-a',
      source,
      '-c',
      '3',
      '-i',
      'u100',
      ...scan.flags,
      '-p',
      '++1',
      b.lab.sensor.ipv4,
    ]);
  } catch (err) {
    await Promise.all([alerted, blocked]);
    return fail(`hping3 did not start: ${(err as Error).message}`);
  }
  try {
    const blockedAt = await blocked;
    const alertAt = await alerted;
    const arrivals = await b.probes.wait(source, 3, Number.isNaN(blockedAt) ? 10 : 1000);
    if (!arrivals) {
      const seen = b.probes.bySource.get(source)?.length ?? 0;
      return fail(`${seen} of 3 probes seen by tcpdump${Number.isNaN(blockedAt) ? ', no block' : ''}`);
    }
    const lineTimes = await Promise.all(lineArrivals);
    if (Number.isNaN(blockedAt)) {
      const arrived = lines.filter((_, i) => !Number.isNaN(lineTimes[i])).map((l) => l.via);
      return fail(
        `no block within ${BLOCK_TIMEOUT_MS} ms${arrived.length ? ` (only the ${arrived.join(', ')} line)` : ''}`,
      );
    }
    if (Number.isNaN(alertAt)) return fail(`blocked, but without the "${scan.label.trim()}" alert line`);
    const [first, , third] = arrivals as [number, number, number];
    const at = (via: BlockLine['via']) => lineTimes[lines.findIndex((l) => l.via === via)] ?? NaN;
    return {
      scan: scan.name,
      source,
      fromFirst: blockedAt - first,
      fromThird: blockedAt - third,
      alertFromThird: alertAt - third,
      spread: third - first,
      ...(lines.length > 1 ? { nftToRoute: at('route') - at('nft') } : {}),
    };
  } finally {
    // hping3 lingers about a second waiting for answers that never come: its probes are all seen
    // (or the iteration failed), so end it now.
    hping.kill('SIGTERM');
    const exited = await Promise.race([hping.exited, delay(2000).then(() => null)]);
    if (!exited) hping.kill('SIGKILL');
  }
}

/** Runs `iterations` rounds of every scan type, until done or until `until()` says stop. */
async function runPhase(
  b: Bench,
  label: string,
  iterations: number,
  until: () => boolean,
  progress: (text: string) => void,
): Promise<PhaseResult> {
  const samples: Sample[] = [];
  const failures: Failure[] = [];
  const started = performance.now();
  let consecutiveFailures = 0;
  rounds: for (let i = 0; i < iterations && !aborted && !until(); i++) {
    if (i % 10 === 0) progress(`${label}: round ${i + 1}/${iterations}`);
    for (const scan of SCANS) {
      if (aborted || until()) break;
      const result = await iterate(b, scan).catch((err: unknown): Failure => ({
        scan: scan.name,
        source: '?',
        reason: (err as Error).message,
      }));
      if ('reason' in result) {
        failures.push(result);
        consecutiveFailures++;
      } else {
        samples.push(result);
        consecutiveFailures = 0;
      }
      if (consecutiveFailures >= 15) {
        failures.push({ scan: '-', source: '-', reason: 'phase stopped after 15 failures in a row' });
        break rounds;
      }
    }
  }
  return {
    label,
    samples,
    failures,
    planned: iterations * SCANS.length,
    wallMs: performance.now() - started,
    notes: [],
  };
}

/** Failed iterations without a block: was the block only late, or did it never come? */
function recheckFailures(phase: PhaseResult, daemon: RunningDaemon, backend: BlockBackend): void {
  const messages = daemon.sink.messages();
  const capped = messages.some((m) => m.startsWith('adminalert: WARNING: MAX_BLOCKS_PER_MINUTE ('));
  for (const f of phase.failures) {
    if (!f.reason.startsWith('no block')) continue;
    const late = blockLines(backend, f.source).every((line) => messages.some((m) => m.startsWith(line.text)));
    const alerted = messages.some((m) => m.includes(` from host: ${f.source}/${f.source} to `));
    f.reason = late
      ? `no block within ${BLOCK_TIMEOUT_MS} ms (it came later)`
      : `never blocked${alerted ? ' (alerted)' : ', never alerted (probes lost before the detector?)'}` +
        `${capped ? ' (the daemon logged MAX_BLOCKS_PER_MINUTE)' : ''}`;
  }
}

function phaseLines(phase: PhaseResult): string[] {
  const out: string[] = [];
  const done = phase.samples.length + phase.failures.length;
  out.push(
    `  ${phase.label}: ${phase.samples.length} of ${phase.planned} iterations measured` +
      `${done < phase.planned ? ` (${phase.planned - done} not run: ${aborted ? 'interrupted' : 'the load ended first'})` : ''}` +
      `, ${phase.failures.length} failed; ${fixed(phase.wallMs / 1000, 1)} s.`,
  );
  const rows = [
    [
      'scan',
      'n',
      'first->block median',
      'p99',
      'max',
      'third->block median',
      'p99',
      'max',
      'third->alert line',
      '1st->3rd probe',
    ],
  ];
  // --block-backend both: how far the route line trails the nftables line.
  const twoLines = phase.samples.some((s) => s.nftToRoute !== undefined);
  if (twoLines) rows[0]!.push('nft->route line');
  const all = [...SCANS.map((s) => s.name), 'all'];
  for (const name of all) {
    const samples = phase.samples.filter((s) => name === 'all' || s.scan === name);
    if (samples.length === 0) {
      rows.push([name, '0', '-', '-', '-', '-', '-', '-', '-', '-', ...(twoLines ? ['-'] : [])]);
      continue;
    }
    const first = summarize(samples.map((s) => s.fromFirst));
    const third = summarize(samples.map((s) => s.fromThird));
    const spread = summarize(samples.map((s) => s.spread));
    rows.push([
      name,
      String(first.n),
      ms(first.median),
      ms(first.p99),
      ms(first.max),
      ms(third.median),
      ms(third.p99),
      ms(third.max),
      ms(median(samples.map((s) => s.alertFromThird))),
      ms(spread.median),
      ...(twoLines ? [ms(median(samples.map((s) => s.nftToRoute ?? NaN)))] : []),
    ]);
  }
  out.push(...table(rows, '    '));
  const reasons = new Map<string, number>();
  for (const f of phase.failures)
    reasons.set(`${f.scan}: ${f.reason}`, (reasons.get(`${f.scan}: ${f.reason}`) ?? 0) + 1);
  for (const [reason, n] of reasons) out.push(`    failed ${n}x  ${reason}`);
  out.push(...phase.notes.map((n) => `    ${n}`));
  return out;
}

async function blackholes(lab: Lab): Promise<string[]> {
  const r = await lab.exec(lab.sensor, ['ip', 'route', 'show', 'type', 'blackhole']);
  return r.stdout
    .split('\n')
    .map((l) => /^blackhole (\S+)/.exec(l.trim())?.[1])
    .filter((a): a is string => a !== undefined);
}

/** The elements of the daemon's IPv4 set (strings, or {elem: {val}} with a timeout). */
async function nftElements(lab: Lab): Promise<string[]> {
  const r = await lab.exec(lab.sensor, ['nft', '-j', 'list', 'set', 'inet', NFT_TABLE, NFT_SET4]);
  const parsed = JSON.parse(r.stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
  const elems = parsed.nftables.find((o) => o.set)?.set?.elem ?? [];
  return elems.map((e) => (typeof e === 'string' ? e : String((e as { elem: { val: unknown } }).elem.val)));
}

/** Where the bans of a backend can be listed. */
interface BanList {
  what: string;
  noun: string;
  list: (lab: Lab) => Promise<string[]>;
}

function banLists(backend: BlockBackend): BanList[] {
  const routes: BanList = {
    what: 'Blackhole routes in the sensor namespace',
    noun: 'routes',
    list: blackholes,
  };
  const set: BanList = {
    what: `Elements of nftables set inet ${NFT_TABLE} ${NFT_SET4} in the sensor namespace`,
    noun: 'elements',
    list: nftElements,
  };
  return backend === 'nft' ? [set] : backend === 'classic' ? [routes] : [set, routes];
}

async function listBans(lab: Lab, lists: readonly BanList[]): Promise<string[][]> {
  const result: string[][] = [];
  for (const l of lists) result.push(await l.list(lab));
  return result;
}

/**
 * How long `nft add element inet portsnare blocked4 { X }` itself takes in the sensor namespace
 * (spawned from here). With the classic backend the daemon has no table: the bench makes one, with
 * the set as the daemon declares it.
 */
async function nftCommandMs(lab: Lab, backend: BlockBackend): Promise<number[]> {
  if (backend === 'classic') {
    await lab.exec(lab.sensor, ['nft', 'add', 'table', 'inet', NFT_TABLE]);
    await lab.exec(lab.sensor, [
      'nft',
      'add',
      'set',
      'inet',
      NFT_TABLE,
      NFT_SET4,
      '{ type ipv4_addr; flags timeout; }',
    ]);
  }
  const times: number[] = [];
  for (let i = 1; i <= 10; i++) {
    const element = `{ 198.19.255.${i} }`;
    const start = performance.now();
    await lab.exec(lab.sensor, ['nft', 'add', 'element', 'inet', NFT_TABLE, NFT_SET4, element]);
    times.push(performance.now() - start);
    await lab.exec(lab.sensor, ['nft', 'delete', 'element', 'inet', NFT_TABLE, NFT_SET4, element]);
  }
  return times;
}

/** How long `ip route add blackhole` itself takes in the sensor namespace (spawned from here). */
async function routeCommandMs(lab: Lab): Promise<number[]> {
  const times: number[] = [];
  for (let i = 1; i <= 10; i++) {
    const address = `198.19.255.${i}`;
    const start = performance.now();
    await lab.exec(lab.sensor, ['/usr/sbin/ip', 'route', 'add', 'blackhole', address]);
    times.push(performance.now() - start);
    await lab.exec(lab.sensor, ['/usr/sbin/ip', 'route', 'del', 'blackhole', address]);
  }
  return times;
}

async function floodPhase(
  b: Bench,
  rate: number,
  seconds: number,
  opts: BenchOptions,
  pcap: { path: string; packets: number; sources: string },
  ticks: number,
  record: (phase: PhaseResult) => void,
  progress: (text: string) => void,
): Promise<{ phase: PhaseResult; lines: string[] }> {
  const lines: string[] = [];
  const limit = rate * seconds;
  const loops = Math.ceil(limit / pcap.packets);
  const countersBefore = await readCounters(b.daemon, b.pid);
  const lists = banLists(b.backend);
  const bansBefore = await listBans(b.lab, lists);
  const cpuBefore = cpuSeconds(b.pid, ticks);
  const machineBefore = machineCpu();
  const wallBefore = performance.now();
  progress(`flood at ${int(rate)} packets/s for ${seconds} s`);
  const replay = b.lab.spawn(b.lab.scanner, [
    'tcpreplay',
    '--intf1=eth0',
    `--pps=${rate}`,
    '--timer=nano', // sleeps between packets; the default (gtod) spins a whole core
    `--loop=${loops}`,
    `--limit=${limit}`,
    pcap.path,
  ]);
  let replayDone = false;
  const exited = replay.exited.then((r) => {
    replayDone = true;
    return r;
  });
  const killer = setTimeout(() => replay.kill('SIGKILL'), (seconds + 10) * 1000);
  let phase: PhaseResult;
  try {
    await delay(500); // let the flood settle before measuring
    const stopAt = performance.now() + seconds * 1000 - 700;
    phase = await runPhase(
      b,
      `Spoofed flood offered at ${int(rate)} packets/s from ${pcap.sources}`,
      opts.iterations,
      () => replayDone || performance.now() > stopAt,
      progress,
    );
    record(phase);
    await exited;
  } finally {
    clearTimeout(killer);
    replay.kill('SIGKILL');
  }
  const wall = (performance.now() - wallBefore) / 1000;
  const cpu = cpuSeconds(b.pid, ticks) - cpuBefore;
  const machine = machineBusy(machineBefore, machineCpu());
  // The daemon may still be working through captured packets: read the counters until
  // capture.packets stops moving (every 500 ms, for 8 s at most).
  const floodEnd = performance.now();
  let countersAfter = await readCounters(b.daemon, b.pid);
  for (let i = 0; i < 16; i++) {
    await delay(500);
    const next = await readCounters(b.daemon, b.pid);
    const settled = next['capture.packets'] === countersAfter['capture.packets'];
    countersAfter = next;
    if (settled) break;
  }
  const drainedAfter = (performance.now() - floodEnd) / 1000;
  recheckFailures(phase, b.daemon, b.backend);
  const cpuDrained = cpuSeconds(b.pid, ticks) - cpuBefore;
  const bansAfter = await listBans(b.lab, lists);
  const out = replay.stdout() + replay.stderr();
  const actual = /Actual: (\d+) packets \((\d+) bytes\) sent in ([\d.]+) seconds/.exec(out);
  const rated = /Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/.exec(out);
  const failed = /Failed packets:\s+(\d+)/.exec(out);
  lines.push(
    `    tcpreplay (its own summary): ${actual ? `${int(Number(actual[1]))} packets in ${actual[3]} s` : 'no summary'}` +
      `${rated ? `, ${int(Number(rated[1]))} packets/s achieved` : ''}` +
      `${failed ? `, ${failed[1]} failed` : ''} (offered ${int(rate)}/s, --limit=${int(limit)}, pcap of ${int(pcap.packets)} ` +
      `sources looped ${loops}x).`,
  );
  if (!actual) lines.push(`    tcpreplay output: ${out.trim().split('\n').slice(-6).join(' | ')}`);
  lines.push(
    `    Daemon CPU (utime+stime from /proc/${b.pid}/stat) from the flood's start to its end: ${fixed(cpu, 2)} s in ` +
      `${fixed(wall, 2)} s = ${fixed((100 * cpu) / wall, 0)} % of one core; ${fixed(cpuDrained, 2)} s once its ` +
      `counters stood still, ${fixed(drainedAfter, 1)} s after the flood (SIGUSR1 every 0.5 s).`,
  );
  lines.push(
    `    Whole machine during the flood (/proc/stat): ${machine} busy (tcpreplay, the kernel's delivery of the ` +
      'flood, the daemon, hping3, tcpdump, this bench, and anything else running).',
  );
  lines.push('    Daemon counters (SIGUSR1) before the flood and once they stood still after it:');
  lines.push(...counterLines(countersBefore, countersAfter));
  const ours = new Set(phase.samples.map((s) => s.source));
  lists.forEach((l, i) => {
    const before = new Set(bansBefore[i]);
    const after = bansAfter[i] ?? [];
    const added = after.filter((r) => !before.has(r));
    const floodBlocked = after.filter(inFloodSpace);
    const unexpected = added.filter((r) => !ours.has(r) && !inFloodSpace(r));
    lines.push(
      `    ${l.what}: ${after.length} (${added.length} added during this flood: ` +
        `${added.filter((r) => ours.has(r)).length} latency sources); flood sources blocked: ` +
        `${floodBlocked.length === 0 ? 'none' : `${floodBlocked.length} (${floodBlocked.slice(0, 5).join(', ')})`}` +
        `${unexpected.length ? `; other new ${l.noun}: ${unexpected.slice(0, 5).join(', ')}` : ''}.`,
    );
  });
  return { phase, lines };
}

export async function runLiveBench(opts: BenchOptions, progress: (text: string) => void): Promise<string[]> {
  const backend = opts.blockBackend;
  const out: string[] = [
    `Part 2: live latency, first probe to block (BLOCK_BACKEND=${backend}), in network namespaces (root)`,
    '',
  ];
  if (process.getuid?.() !== 0) {
    out.push('  Skipped: needs root (network namespaces). Run it as root, or use --replay-only.');
    return out;
  }
  const missing = ['hping3', 'tcpdump', 'tcpreplay', 'nft'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
  );
  if (missing.length > 0) {
    out.push(`  Skipped: ${missing.join(', ')} not installed.`);
    return out;
  }
  const main = join(REPO_ROOT, 'dist', 'cli', 'main.js');
  if (!existsSync(main)) {
    out.push('  Skipped: the daemon is not built (dist/ is missing): run `npm run build && npm run bench`.');
    return out;
  }
  const stale = staleSources();
  if (stale.length > 0) {
    out.push(
      `  WARNING: ${stale.length} source file(s) changed since the last build (${stale.slice(0, 3).join(', ')}` +
        `${stale.length > 3 ? ', ...' : ''}):`,
    );
    out.push('  the daemon measured may not match the sources (run `npm run build` first).');
  }

  const onSignal = () => {
    if (aborted) process.exit(130);
    aborted = true;
    process.stderr.write('[bench] interrupted: cleaning up\n');
    setTimeout(() => process.exit(130), 15_000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const scratch = await mkdtemp(join(tmpdir(), 'psn-bench-'));
  const removeScratch = () => rmSync(scratch, { recursive: true, force: true });
  process.on('exit', removeScratch);

  let lab: Lab | null = null;
  let daemon: RunningDaemon | null = null;
  let tcpdump: LabProcess | null = null;
  const phases: PhaseResult[] = [];
  const printed = new Set<PhaseResult>();
  const record = (phase: PhaseResult) => phases.push(phase);
  const extra: string[] = [];
  try {
    const otherNamespaces = listNamespaces().size;
    const loadBefore = loadavg();
    progress('creating the lab');
    lab = await createLab();
    const sensorMac = await macOf(lab, lab.sensor);
    const scannerMac = await macOf(lab, lab.scanner);
    const files = await prepareFiles({
      BLOCK_TCP: '1',
      BLOCK_UDP: '1',
      KILL_ROUTE,
      KILL_HOSTS_DENY: '',
      BLOCK_BACKEND: backend,
      // No cap on new blocks: every iteration is one (the default of 60 a minute would refuse most).
      MAX_BLOCKS_PER_MINUTE: '0',
    });
    progress('starting the daemon');
    daemon = await startDaemon(lab, files, ['-atcp', '-audp']);
    const pidText = await readFile(join(files.stateDir, 'portsnare.pid'), 'utf8').catch(() => '');
    const pid = Number(pidText.trim()) || daemon.process.pid;
    const ticks = clockTicks();

    tcpdump = lab.spawn(lab.sensor, [
      'tcpdump',
      '-i',
      'eth0',
      '-n',
      '-tt',
      '--immediate-mode',
      '-l',
      `src net ${LATENCY_NET}`,
    ]);
    const probes = new ProbeTimes();
    tcpdump.child.stdout?.on('data', (d: string) => probes.feed(d));
    const dump = tcpdump;
    const deadline = Date.now() + 5000;
    while (!dump.stderr().includes('listening on') && Date.now() < deadline) await delay(20);
    if (!dump.stderr().includes('listening on')) throw new Error(`tcpdump did not start: ${dump.stderr()}`);

    const chosen = daemon.sink.messages().find((m) => m.startsWith('adminalert: Blocking with '));
    const b: Bench = { lab, daemon, pid, probes, clock: new RealClock(), nextSource: 0, backend };
    // Warm-up (ARP, page cache, JIT), not counted.
    for (const scan of SCANS) await iterate(b, scan);

    out.push(
      `  Lab: sensor ${lab.sensor.ipv4} (eth0 ${sensorMac}), scanner ${lab.scanner.ipv4}, bridged veth pairs. ` +
        `Daemon pid ${pid}: bin/portsnare -atcp -audp,`,
    );
    out.push(
      `  BLOCK_TCP="1" BLOCK_UDP="1" BLOCK_BACKEND="${backend}" KILL_ROUTE="${KILL_ROUTE}" KILL_HOSTS_DENY="" ` +
        'MAX_BLOCKS_PER_MINUTE="0" (no cap),',
    );
    out.push(
      '  built-in defaults otherwise (STEALTH_TRIGGER_PORTS=3, ADVANCED_PORTS_TCP/UDP=1024, BLOCK_TIME=0)' +
        `${backend === 'nft' ? '; KILL_ROUTE is not run with BLOCK_BACKEND="nft"' : ''}.`,
    );
    out.push(`  The daemon said: "${chosen ?? 'no "Blocking with" line'}".`);
    out.push(
      `  Each iteration: hping3 -a <fresh source in ${LATENCY_NET}> -c 3 -i u100 <flags> -p ++1 <sensor>; probe ` +
        'arrival = tcpdump',
    );
    out.push('  -tt --immediate-mode in the sensor namespace (kernel receive time, CLOCK_REALTIME).');
    const [blockFirst, ...blockRest] = BLOCK_WORDING[backend].lines;
    out.push(`  Block (--block-backend ${backend}) = arrival at the bench of ${blockFirst}`);
    out.push(...blockRest.map((l) => `  ${l}`));
    out.push(
      '  (CLOCK_REALTIME, re-anchored to Date.now() before each iteration, sub-ms via performance.now(); the ' +
        'unix datagram',
    );
    out.push('  adds well under 1 ms). 5 untimed warm-up iterations first.');
    out.push(`  Percentiles are nearest-rank (with 30 samples, p99 is the slowest one).`);
    out.push(
      `  Machine load when the lab was built: load average ${loadBefore.map((l) => fixed(l, 2)).join(' ')}; ` +
        `${otherNamespaces} other network namespace(s) present (other test runs share the 2 cores).`,
    );
    out.push('');

    const idleCountersBefore = await readCounters(daemon, pid);
    const idleCpu = cpuSeconds(pid, ticks);
    const idleMachine = machineCpu();
    const idle = await runPhase(b, 'Idle (no flood)', opts.iterations, () => false, progress);
    phases.push(idle);
    if (aborted) throw new Error('interrupted');
    const idleCpuUsed = cpuSeconds(pid, ticks) - idleCpu;
    const idleBusy = machineBusy(idleMachine, machineCpu());
    const idleCounters = await readCounters(daemon, pid);
    recheckFailures(idle, daemon, backend);
    idle.notes.push(
      `Daemon CPU during the phase: ${fixed(idleCpuUsed, 2)} s in ${fixed(idle.wallMs / 1000, 1)} s (whole ` +
        `machine ${idleBusy} busy); counters: ` +
        `capture.captured +${int((idleCounters['capture.captured'] ?? 0) - (idleCountersBefore['capture.captured'] ?? 0))}, ` +
        `alerts +${int((idleCounters['alerts'] ?? 0) - (idleCountersBefore['alerts'] ?? 0))}, ` +
        `blocks +${int((idleCounters['blocks'] ?? 0) - (idleCountersBefore['blocks'] ?? 0))}.`,
    );
    printed.add(idle);
    out.push(...phaseLines(idle));
    out.push('');

    if (opts.floodRates.length > 0 && !aborted) {
      progress('writing the flood pcap');
      const path = join(scratch, 'flood.pcap');
      const sensor = { ipv4: lab.sensor.ipv4, mac: sensorMac };
      const packets = await writeFloodPcap(path, 1 << 17, sensor, scannerMac);
      const pcap = { path, packets, sources: `${int(packets)} sources (198.18.0.0/15 less ${LATENCY_NET})` };
      // Long enough for every iteration at 1.5x the idle pace, 10-20 s, unless --flood-seconds says.
      const perIteration = idle.wallMs / Math.max(1, idle.samples.length + idle.failures.length);
      const needed = (perIteration * opts.iterations * SCANS.length * 1.5) / 1000 + 1.2;
      const seconds = opts.floodSeconds ?? Math.min(20, Math.max(10, Math.ceil(needed)));
      for (const rate of opts.floodRates) {
        if (aborted) break;
        const { phase, lines } = await floodPhase(b, rate, seconds, opts, pcap, ticks, record, progress);
        printed.add(phase);
        out.push(...phaseLines(phase));
        out.push(...lines);
        out.push('');
        await delay(1000); // the daemon settles between loads
      }
      if (opts.contrast && !aborted) {
        // The same at the highest rate from fewer sources than the detector's table holds (65,536).
        const rate = Math.max(...opts.floodRates);
        const fewPath = join(scratch, 'flood-32k.pcap');
        const few = await writeFloodPcap(fewPath, 1 << 15, sensor, scannerMac);
        const fewPcap = {
          path: fewPath,
          packets: few,
          sources: `${int(few)} sources (198.18.0.0/17), for contrast`,
        };
        const { phase, lines } = await floodPhase(b, rate, seconds, opts, fewPcap, ticks, record, progress);
        printed.add(phase);
        out.push(...phaseLines(phase));
        out.push(...lines);
        out.push('');
      }
    }

    if (!aborted) {
      extra.push(
        `  Load average at the end: ${loadavg()
          .map((l) => fixed(l, 2))
          .join(' ')}.`,
      );
      const route = summarize(await routeCommandMs(lab));
      const nft = summarize(await nftCommandMs(lab, backend));
      extra.push(
        '  For scale, each alone, spawned from the bench through `ip netns exec` in the sensor namespace (10 runs):',
      );
      extra.push(
        `  \`ip route add blackhole X\`: median ${ms(route.median)}, max ${ms(route.max)}; ` +
          `\`nft add element inet ${NFT_TABLE} ${NFT_SET4} { X }\`: median ${ms(nft.median)}, max ${ms(nft.max)}` +
          `${backend === 'classic' ? ' (in a table the bench made: the classic daemon has none)' : ''}.`,
      );
      const sinkFailures = daemon.sink.failures();
      if (sinkFailures.length > 0)
        extra.push(`  Syslog sink: ${sinkFailures.length} datagram(s) did not parse.`);
      const stopped = await Promise.race([daemon.stop(), delay(10_000).then(() => null)]);
      extra.push(
        `  Daemon stop (SIGTERM): ${stopped ? `exit code ${String(stopped.code)}${stopped.signal ? ` signal ${stopped.signal}` : ''}` : 'did not exit within 10 s'}.`,
      );
    }
  } catch (err) {
    for (const phase of phases.filter((p) => !printed.has(p))) out.push(...phaseLines(phase), '');
    if (aborted) {
      out.push('  Interrupted (SIGINT/SIGTERM): the lab was torn down; figures above are partial.');
      return out;
    }
    out.push(`  Part 2 FAILED: ${(err as Error).message}`);
    if (daemon)
      out.push(
        `  daemon stderr (last lines): ${daemon.process.stderr().trim().split('\n').slice(-5).join(' | ')}`,
      );
  } finally {
    progress('cleaning up the lab');
    tcpdump?.kill('SIGTERM');
    await daemon?.cleanup().catch(() => undefined);
    await lab?.destroy();
    removeScratch();
    process.removeListener('exit', removeScratch);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }

  const idle = phases[0]?.samples ?? [];
  if (idle.length > 0) {
    const first = summarize(idle.map((s) => s.fromFirst));
    const third = summarize(idle.map((s) => s.fromThird));
    const toAlert = median(idle.map((s) => s.alertFromThird));
    const alertToBlock = median(idle.map((s) => s.fromThird - s.alertFromThird));
    out.push(
      `  Compared with PortSentry 1.2, which blocks on a scanner's first probe ${PORTSENTRY_FIRST_PROBE_MS} after it ` +
        '(as quoted in',
    );
    out.push(
      `  src/sensors/capture.ts): idle, portsnare blocks ${ms(first.median)} after the first probe (median; p99 ` +
        `${ms(first.p99)}), of which`,
    );
    out.push(
      `  ${ms(median(idle.map((s) => s.spread)))} is the scanner's own gap from its first to its third probe. From ` +
        `the third probe: ${ms(third.median)}`,
    );
    out.push(
      `  (p99 ${ms(third.p99)}) = ${ms(toAlert)} to the alert line (capture, decode, detect, socket-table ` +
        `confirmation) + ${ms(alertToBlock)}`,
    );
    out.push(
      `  from the alert line to the block line (blocked-file check, ban-store record, ${BLOCK_WORDING[backend].action}, ` +
        'log line) (medians).',
    );
  }
  out.push(...extra);
  if (aborted) out.push('  INTERRUPTED: the figures above are partial.');
  return out;
}
