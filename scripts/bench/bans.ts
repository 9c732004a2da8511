// Part 3 of `npm run bench`: what bans cost. The ban store needs no root; nftables figures need
// root and nft, and run only inside a private network namespace this part creates and deletes.
//
// (1) Adding bans: the time of one awaited call, by performance.now() around it.
//     - BanStore (src/state/ban-store.ts) in a temp dir under os.tmpdir(): `add(ban)` (resolves once
//       written and fsync'd) 20 times after one warm-up add, median; `addMany` of 100,000 bans into
//       a fresh store, 3 times, median (the bans are made before the clock starts).
//     - NftResponder (src/respond/nft.ts), table `inet portsnare` in the namespace: `block()` of one
//       ban 20 times after one warm-up, median; `block()` of 100,000 bans into a fresh table (flush,
//       ensureTable), 3 times, median, checked with list() afterwards.
//     - One ban as the daemon does it: store add, then nft block, in sequence, 20 times, median.
//     nft runs as `ip netns exec NS nft -f -` (spawnRun); what `ip netns exec` alone adds is measured.
// (2) Restart restore: 1,000,000 bans (900,000 IPv4 in 198.18.0.0/15 and 10.0.0.0/8, 100,000 IPv6 in
//     2001:db8::/32; every third expires in 1 h, the rest never) written with addMany in chunks of
//     100,000 and closed (close() compacts them into one snapshot). A fresh child process then times
//     `BanStore.open` (loading them all) and putting them all into a fresh nft table (ensureTable,
//     then block() in chunks of 50,000, each awaited), and reports its peak RSS
//     (process.resourceUsage().maxRSS) and the store's loadReport. The files were just written, so
//     they are in the page cache (the bench does not drop the machine's caches).
// (3) Detector memory with many sources: a fresh child process per table capacity (1,000,000 and the
//     default 65,536) feeds `Detector.judge` packet-mode probes (stcp SYNs) from 2,000,000 distinct
//     spoofed IPv4 sources (198.18.0.0/15, then 10.0.0.0/8), one probe each, simulated 100,000
//     probes/s; with two real scanners interleaved at the end (3 distinct ports each, 1,000 and
//     100,000 flood probes apart). Reported: peak RSS, heap used after a forced GC with the detector
//     alive (children run with --expose-gc), events/s (source text and event made in the timed loop),
//     and each scanner's verdicts.
//
// Children are `node --expose-gc --import tsx scripts/bench/bans.ts --bans-child <request JSON>` and
// answer with one JSON line on stdout. Cleanup: the namespace (`psnbench-<pid>-<hex>`) and the temp
// dir are removed in `finally`, on SIGINT/SIGTERM (which also print the partial report and exit 130)
// and by an exit hook; processes still running in the namespace, and the child, are killed by pid.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Detector, type Verdict } from '../../src/detect/detector.ts';
import type { ProbeEvent } from '../../src/detect/probe.ts';
import { DEFAULT_MAX_TRACKED_SOURCES } from '../../src/detect/trigger.ts';
import { canonicalAddress } from '../../src/net/address.ts';
import { CidrSet } from '../../src/net/cidr-set.ts';
import { NFT_TIMEOUT_MS, NftResponder, spawnRun, type NftBan, type NftRun } from '../../src/respond/nft.ts';
import { makeBan } from '../../src/state/ban-records.ts';
import { BanStore, type Ban, type LoadReport } from '../../src/state/ban-store.ts';
import { fixed, int, median, mib, ms, table } from './stats.ts';

const SELF = fileURLToPath(import.meta.url);
const REPO_ROOT = resolve(dirname(SELF), '..', '..');
const CHILD_FLAG = '--bans-child';

const SINGLE_ADDS = 20;
const BATCH = 100_000;
const BATCH_RUNS = 3;
const RESTORE_BANS = 1_000_000;
const RESTORE_WRITE_CHUNK = 100_000;
const NFT_CHUNK = 50_000;
const FLOOD_SOURCES = 2_000_000;
const RESTORED_CAPACITY = 1_000_000;
/** Simulated time between two probes of the flood: 0.01 ms, i.e. 100,000 probes/s. */
const FLOOD_STEP_MS = 0.01;
const HOUR_MS = 3_600_000;
const CHILD_TIMEOUT_MS = 600_000;
/** Long enough to list a million elements; the timed calls keep spawnRun's default (NFT_TIMEOUT_MS). */
const LIST_TIMEOUT_MS = 120_000;
const SCAN_TYPE = 'TCP SYN/Normal scan';

// --- addresses and bans -------------------------------------------------------------------------

/** 198.18.0.0/15 holds 131,072 addresses; the pool continues in 10.0.0.0/8. */
const BENCH_NET_SIZE = 1 << 17;

/** The j-th IPv4 address of the pool: 198.18.0.0/15 first, then 10.0.0.0/8 (16,777,216 more). */
function poolV4(j: number): string {
  if (j < BENCH_NET_SIZE) return `198.${18 + (j >> 16)}.${(j >> 8) & 255}.${j & 255}`;
  const k = j - BENCH_NET_SIZE;
  return `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`;
}

/** The k-th IPv6 address of the pool, in 2001:db8::/32, canonical (RFC 5952) text. */
function poolV6(k: number): string {
  const text = `2001:db8:${(k >>> 16).toString(16)}:${(k & 0xffff).toString(16)}:0:0:0:1`;
  const canonical = canonicalAddress(text);
  if (canonical === null) throw new Error(`bad generated address ${text}`);
  return canonical;
}

/** The i-th ban address: every tenth (i % 10 = 9) is IPv6, the others IPv4. */
function banAddress(i: number): string {
  return i % 10 === 9 ? poolV6((i - 9) / 10) : poolV4(i - Math.floor(i / 10));
}

/** The i-th bench ban: every third (i % 3 = 0) expires an hour after `now`, the others never. */
function benchBan(i: number, now: number): Ban {
  const port = 1 + (i % 1000);
  return makeBan(
    banAddress(i),
    now,
    i % 3 === 0 ? now + HOUR_MS : null,
    [port, port + 1, port + 2],
    SCAN_TYPE,
    'stcp',
    ['nft'],
  );
}

function benchBans(from: number, to: number, now: number): Ban[] {
  const out: Ban[] = [];
  for (let i = from; i < to; i++) out.push(benchBan(i, now));
  return out;
}

/** What the daemon hands nftables for a stored ban: what is left of its time, or no timeout. */
function nftBan(ban: Ban, now: number): NftBan {
  return ban.expires === null
    ? { address: ban.address }
    : { address: ban.address, timeoutSeconds: Math.max(1, Math.ceil((ban.expires - now) / 1000)) };
}

/** Addresses for single adds, outside every pool: 198.51.100.0/24 (TEST-NET-2). */
let nextSingle = 1;
function singleAddress(): string {
  if (nextSingle > 254) throw new Error('single-add addresses exhausted');
  return `198.51.100.${nextSingle++}`;
}

function singleBan(): Ban {
  const now = Date.now();
  return makeBan(singleAddress(), now, now + HOUR_MS, [22, 23, 24], SCAN_TYPE, 'stcp', ['nft']);
}

// --- child processes ----------------------------------------------------------------------------

interface RestoreRequest {
  kind: 'restore';
  dir: string;
  /** Namespace to run nft in; null: store only. */
  ns: string | null;
  chunk: number;
}

interface DetectorRequest {
  kind: 'detector';
  /** maxTrackedSources; null: left out (the default). */
  capacity: number | null;
  sources: number;
}

type ChildRequest = RestoreRequest | DetectorRequest;

interface RestoreResult {
  startMaxRssKiB: number;
  loadMs: number;
  size: number;
  loadReport: Omit<LoadReport, 'expired'> & { expired: number };
  nft: { ensureMs: number; chunkMs: number[]; ms: number; elements: number } | null;
  totalMs: number;
  maxRssKiB: number;
  rssAfter: number;
  heapUsedAfter: number;
}

interface ScannerResult {
  source: string;
  gap: number;
  verdicts: string[];
}

interface DetectorResult {
  startMaxRssKiB: number;
  events: number;
  feedMs: number;
  makeOnlyMs: number;
  heapBefore: number;
  heapAfter: number;
  rssAfter: number;
  maxRssKiB: number;
  /** Alerts for sources other than the scanners (must be 0). */
  floodAlerts: number;
  scanners: ScannerResult[];
  gc: boolean;
}

let activeChild: ChildProcess | null = null;

/** Runs this file as a child with `request`; resolves with the JSON line it printed. */
function runChild<T>(request: ChildRequest): Promise<T> {
  return new Promise((resolveResult, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', SELF, CHILD_FLAG, JSON.stringify(request)],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    activeChild = child;
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
      process.stderr.write(d);
    });
    const timer = setTimeout(() => {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
    }, CHILD_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      activeChild = null;
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      activeChild = null;
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || line === '') {
        const tail = stderr.trim().split('\n').slice(-3).join(' | ');
        reject(
          new Error(`${request.kind} child: ${signal ?? `exit ${String(code)}`}${tail ? `: ${tail}` : ''}`),
        );
        return;
      }
      try {
        resolveResult(JSON.parse(line) as T);
      } catch (err) {
        reject(new Error(`${request.kind} child: not JSON: ${line.slice(0, 200)}`, { cause: err }));
      }
    });
  });
}

function nsRun(ns: string, timeoutMs = NFT_TIMEOUT_MS): NftRun {
  return (argv, input) => spawnRun(['ip', 'netns', 'exec', ns, ...argv], input, timeoutMs);
}

async function childRestore(req: RestoreRequest): Promise<RestoreResult> {
  const startMaxRssKiB = process.resourceUsage().maxRSS;
  const t0 = performance.now();
  const store = await BanStore.open(req.dir);
  const loadMs = performance.now() - t0;
  let nft: RestoreResult['nft'] = null;
  if (req.ns !== null) {
    const responder = new NftResponder({ run: nsRun(req.ns) });
    const t1 = performance.now();
    await responder.ensureTable();
    const ensureMs = performance.now() - t1;
    const now = Date.now();
    const chunkMs: number[] = [];
    let elements = 0;
    let chunk: NftBan[] = [];
    const flush = async () => {
      const c0 = performance.now();
      await responder.block(chunk);
      chunkMs.push(performance.now() - c0);
      elements += chunk.length;
      chunk = [];
    };
    for (const ban of store.all()) {
      chunk.push(nftBan(ban, now));
      if (chunk.length === req.chunk) await flush();
    }
    if (chunk.length > 0) await flush();
    nft = { ensureMs, chunkMs, ms: performance.now() - t1, elements };
  }
  const totalMs = performance.now() - t0;
  const maxRssKiB = process.resourceUsage().maxRSS;
  const memory = process.memoryUsage();
  const size = store.size;
  await store.close();
  return {
    startMaxRssKiB,
    loadMs,
    size,
    loadReport: { ...store.loadReport, expired: store.loadReport.expired.length },
    nft,
    totalMs,
    maxRssKiB,
    rssAfter: memory.rss,
    heapUsedAfter: memory.heapUsed,
  };
}

/** Keeps the detector reachable until its heap has been measured. */
const retained: unknown[] = [];

function childDetector(req: DetectorRequest): DetectorResult {
  const startMaxRssKiB = process.resourceUsage().maxRSS;
  const collect = () => {
    gc?.();
    gc?.();
  };
  const n = req.sources;
  if (n < 200_010) throw new Error('too few sources for the scanner gaps');
  // Scanner probes, injected before the flood probe of index `at` (sorted by `at`).
  const scanners: ScannerResult[] = [
    { source: '203.0.113.1', gap: 100_000, verdicts: [] },
    { source: '203.0.113.2', gap: 1_000, verdicts: [] },
  ];
  const injections = scanners
    .flatMap((scanner, s) =>
      [2, 1, 0].map((back, p) => ({ at: n - 3 - back * scanner.gap - s, scanner, port: 20 + 10 * s + p })),
    )
    .sort((a, b) => a.at - b.at);
  const sensor = '192.0.2.1';
  const t0 = Date.UTC(2025, 0, 1);
  const probe = (source: string, port: number, e: number): ProbeEvent => ({
    mode: 'stcp',
    protocol: 'tcp',
    evidence: 'packet',
    source,
    port,
    destination: sensor,
    time: t0 + e * FLOOD_STEP_MS,
    label: SCAN_TYPE,
  });
  const floodPort = (i: number) => 1 + ((i * 7919) % 1023);

  // The same loop without judge(): what making the source text and the event costs.
  let sink = 0;
  let start = performance.now();
  for (let i = 0; i < n; i++) {
    const event = probe(poolV4(i), floodPort(i), i);
    sink += event.source.length + event.port;
  }
  const makeOnlyMs = performance.now() - start;
  if (sink === 0) throw new Error('unreachable');

  collect();
  const heapBefore = process.memoryUsage().heapUsed;
  const detector = new Detector(
    { ignore: new CidrSet(), own: new CidrSet() },
    {
      scanTrigger: 0,
      stealthPorts: 3,
      stealthWindowMs: 10_000,
      ...(req.capacity === null ? {} : { maxTrackedSources: req.capacity }),
    },
  );
  let floodAlerts = 0;
  let e = 0;
  let next = 0;
  start = performance.now();
  for (let i = 0; i < n; i++) {
    while (next < injections.length && injections[next]!.at === i) {
      const { scanner, port } = injections[next++]!;
      const verdict: Verdict = detector.judge(probe(scanner.source, port, e++));
      scanner.verdicts.push(verdict.kind);
    }
    if (detector.judge(probe(poolV4(i), floodPort(i), e++)).kind === 'alert') floodAlerts++;
  }
  const feedMs = performance.now() - start;
  retained.push(detector);
  collect();
  const after = process.memoryUsage();
  const maxRssKiB = process.resourceUsage().maxRSS;
  retained.length = 0;
  return {
    startMaxRssKiB,
    events: e,
    feedMs,
    makeOnlyMs,
    heapBefore,
    heapAfter: after.heapUsed,
    rssAfter: after.rss,
    maxRssKiB,
    floodAlerts,
    scanners,
    gc: gc !== undefined,
  };
}

async function childMain(requestText: string): Promise<RestoreResult | DetectorResult> {
  const request = JSON.parse(requestText) as ChildRequest;
  return request.kind === 'restore' ? childRestore(request) : childDetector(request);
}

// --- the parent ---------------------------------------------------------------------------------

function since(start: number): number {
  return performance.now() - start;
}

async function timeEach(count: number, op: () => Promise<void>): Promise<number[]> {
  await op(); // warm-up, not counted
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await op();
    samples.push(since(start));
  }
  return samples;
}

function spread(samples: readonly number[]): string {
  return `${ms(median(samples))} (${fixed(Math.min(...samples), 2)}-${fixed(Math.max(...samples), 2)})`;
}

function seconds(msValue: number): string {
  return `${fixed(msValue / 1000, 2)} s`;
}

function runs(samples: readonly number[]): string {
  return `${ms(median(samples))} (runs: ${samples.map((s) => fixed(s, 0)).join(', ')} ms)`;
}

function kib(value: number): string {
  return `${mib(value * 1024)} (${int(value)} KiB)`;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return NaN;
  }
}

/** Why nftables figures cannot be taken here, or null if they can. */
function nftUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not root (network namespaces and nft need it)';
  for (const tool of ['ip', 'nft']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `\`${tool}\` is not installed`;
  }
  return null;
}

class Namespace {
  readonly name = `psnbench-${process.pid}-${randomBytes(4).toString('hex')}`;
  #alive = false;

  create(): string | null {
    const r = spawnSync('ip', ['netns', 'add', this.name], { encoding: 'utf8' });
    if (r.status !== 0) return `ip netns add ${this.name}: ${(r.stderr || r.error?.message || '').trim()}`;
    this.#alive = true;
    return null;
  }

  /** Kills what still runs in it (only this bench's processes can be there), then deletes it. */
  deleteSync(): void {
    if (!this.#alive) return;
    const pids = spawnSync('ip', ['netns', 'pids', this.name], { encoding: 'utf8' });
    for (const pid of (pids.stdout ?? '').split('\n').map(Number)) {
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    spawnSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
    this.#alive = false;
  }
}

export async function runBansBench(progress: (text: string) => void): Promise<string[]> {
  const out: string[] = [
    'Part 3: bans: ban store and nftables adds, restart restore, detector memory with many sources',
    '',
  ];
  const say = (line = '') => out.push(line === '' ? '' : `  ${line}`);
  const scratch = mkdtempSync(join(tmpdir(), 'psnbench-bans-'));
  const ns = new Namespace();
  let nftWhyNot = nftUnavailable();
  const stores: BanStore[] = [];

  const cleanupSync = () => {
    if (activeChild?.pid && activeChild.exitCode === null && activeChild.signalCode === null) {
      try {
        process.kill(activeChild.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    ns.deleteSync();
    rmSync(scratch, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    cleanupSync();
    process.stdout.write(
      `${[...out, ...(out.at(-1) === '' ? [] : ['']), `  INTERRUPTED (${signal}): namespace and temp dir removed; the figures above are partial.`].join('\n')}\n`,
    );
    process.exit(130);
  };
  process.on('exit', cleanupSync);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    if (nftWhyNot === null) nftWhyNot = ns.create();
    const run = nsRun(ns.name);
    if (nftWhyNot === null) {
      const check = await run(['nft', 'list', 'tables']).catch((err: Error) => ({
        code: -1,
        stdout: '',
        stderr: err.message,
      }));
      if (check.code !== 0) nftWhyNot = `nft does not work in the namespace: ${check.stderr.trim()}`;
      else if (check.stdout.trim() !== '') nftWhyNot = 'the new namespace unexpectedly has nft tables';
    }
    const nft = nftWhyNot === null ? new NftResponder({ run }) : null;
    const fsType = spawnSync('stat', ['-f', '-c', '%T', scratch], { encoding: 'utf8' }).stdout?.trim() || '?';
    const nftVersion = spawnSync('nft', ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';

    say(
      `Store: BanStore in ${scratch} (filesystem type, stat -f: ${fsType}); each add/addMany resolves once its ` +
        "records are written and fsync'd.",
    );
    if (nft) {
      const execOnly = await timeEach(SINGLE_ADDS, async () => {
        const r = await run(['true']);
        if (r.code !== 0) throw new Error(`ip netns exec true: ${r.stderr}`);
      });
      say(
        `nftables: NftResponder (table inet ${nft.table}) in the private namespace ${ns.name}; ${nftVersion};`,
      );
      say(
        `  nft runs as \`ip netns exec ${ns.name} nft -f -\` (spawnRun); \`ip netns exec NS true\` alone takes ` +
          `${spread(execOnly)}`,
      );
      say(
        '  (median, min-max of 20): part of every nft figure that the daemon, running nft directly, does not pay.',
      );
    } else {
      say(`nftables figures SKIPPED: ${nftWhyNot}.`);
    }
    say(
      `Timing: performance.now() around each awaited call. One-ban figures: median (min-max) of ${SINGLE_ADDS} ` +
        'after one warm-up, a new address each;',
    );
    say(
      `${int(BATCH)}-ban figures: median of ${BATCH_RUNS} runs, each into a fresh store / a fresh table (bans ` +
        'made before the clock starts). Bans: 9 in 10 IPv4, 1 in 10 IPv6,',
    );
    say('every third with an expiry in 1 h (nft timeout 3600 s), the rest without.');
    say('');

    // (1) Adding bans.
    progress('bans (1): store single adds');
    const single = await BanStore.open(join(scratch, 'single'));
    stores.push(single);
    const storeOne = await timeEach(SINGLE_ADDS, () => single.add(singleBan()));
    await single.close();

    const storeBatch: number[] = [];
    const storeClose: number[] = [];
    let snapshotBytes = NaN;
    for (let r = 0; r < BATCH_RUNS; r++) {
      progress(`bans (1): store addMany(${int(BATCH)}), run ${r + 1}/${BATCH_RUNS}`);
      const dir = join(scratch, `batch-${r}`);
      const store = await BanStore.open(dir);
      stores.push(store);
      const bans = benchBans(0, BATCH, Date.now());
      const start = performance.now();
      await store.addMany(bans);
      storeBatch.push(since(start));
      const closing = performance.now();
      await store.close();
      storeClose.push(since(closing));
      if (store.size !== BATCH) throw new Error(`store holds ${store.size} bans, not ${BATCH}`);
      snapshotBytes = fileSize(join(dir, 'bans.snapshot'));
      rmSync(dir, { recursive: true, force: true });
    }

    let nftOne: number[] = [];
    let both: number[] = [];
    let ensureMs = NaN;
    const nftBatch: number[] = [];
    let listed = NaN;
    if (nft) {
      progress('bans (1): nft single adds');
      let start = performance.now();
      await nft.ensureTable();
      ensureMs = since(start);
      nftOne = await timeEach(SINGLE_ADDS, () =>
        nft.block([{ address: singleAddress(), timeoutSeconds: 3600 }]),
      );
      progress('bans (1): store add + nft block');
      const combined = await BanStore.open(join(scratch, 'combined'));
      stores.push(combined);
      both = await timeEach(SINGLE_ADDS, async () => {
        const ban = singleBan();
        await combined.add(ban);
        await nft.block([nftBan(ban, Date.now())]);
      });
      await combined.close();
      for (let r = 0; r < BATCH_RUNS; r++) {
        progress(`bans (1): nft block(${int(BATCH)}), run ${r + 1}/${BATCH_RUNS}`);
        await nft.flush();
        await nft.ensureTable();
        const now = Date.now();
        const bans = benchBans(0, BATCH, now).map((ban) => nftBan(ban, now));
        start = performance.now();
        await nft.block(bans);
        nftBatch.push(since(start));
        listed = (await nft.list()).length;
        if (listed !== BATCH) throw new Error(`nft list found ${listed} elements, not ${BATCH}`);
      }
    }

    say('(1) Adding bans');
    out.push(
      ...table(
        [
          ['', 'one ban: median (min-max), ms', `${int(BATCH)} bans: median of ${BATCH_RUNS}`],
          ['BanStore.add / addMany', spread(storeOne), runs(storeBatch)],
          ...(nft
            ? [
                ['NftResponder.block', spread(nftOne), runs(nftBatch)],
                ['store add, then nft block', spread(both), '-'],
              ]
            : [['NftResponder.block', 'skipped', 'skipped']]),
        ],
        '      ',
      ),
    );
    say(
      `    Store: ${int(BATCH)} bans = one write + one fsync of bans.journal; that reaches compactEvery (100,000), ` +
        'so a background compaction',
    );
    say(`    follows, which close() waits for: ${runs(storeClose)} (snapshot ${mib(snapshotBytes)}).`);
    if (nft) {
      say(
        `    nft: ${int(BATCH)} bans = one \`nft -f -\` run (one add element statement per set); list() found ` +
          `${int(listed)} afterwards.`,
      );
      say(`    ensureTable() in the empty namespace: ${ms(ensureMs)}.`);
    }
    say('');

    // (2) Restart restore.
    progress(`bans (2): writing ${int(RESTORE_BANS)} bans`);
    const restoreDir = join(scratch, 'restore');
    const writer = await BanStore.open(restoreDir, { compactEvery: 10 * RESTORE_BANS });
    stores.push(writer);
    const now = Date.now();
    let expiring = 0;
    let v6 = 0;
    let start = performance.now();
    for (let from = 0; from < RESTORE_BANS; from += RESTORE_WRITE_CHUNK) {
      const bans = benchBans(from, Math.min(RESTORE_BANS, from + RESTORE_WRITE_CHUNK), now);
      for (const ban of bans) {
        if (ban.expires !== null) expiring++;
        if (ban.address.includes(':')) v6++;
      }
      await writer.addMany(bans);
    }
    const writeMs = since(start);
    start = performance.now();
    await writer.close();
    const closeMs = since(start);
    const snapshot = fileSize(join(restoreDir, 'bans.snapshot'));
    const journal = fileSize(join(restoreDir, 'bans.journal'));
    if (nft) await nft.flush(); // a fresh table for the child
    progress('bans (2): restore in a fresh child process');
    const restored = await runChild<RestoreResult>({
      kind: 'restore',
      dir: restoreDir,
      ns: nft ? ns.name : null,
      chunk: NFT_CHUNK,
    });
    const listLines: string[] = [];
    let oneInto: number[] = [];
    if (nft) {
      progress('bans (2): checking the table');
      const lister = new NftResponder({ run: nsRun(ns.name, LIST_TIMEOUT_MS) });
      start = performance.now();
      const elements = await lister.list();
      const listMs = since(start);
      const six = elements.filter((e) => e.address.includes(':')).length;
      const timed = elements.filter((e) => e.expiresInSeconds !== null).length;
      listLines.push(
        `Check: list() afterwards found ${int(elements.length - six)} IPv4 + ${int(six)} IPv6 elements, ` +
          `${int(timed)} with a timeout. It took ${seconds(listMs)} (not part of`,
        `the restore figures; run with a ${int(LIST_TIMEOUT_MS / 1000)} s timeout` +
          `${listMs > NFT_TIMEOUT_MS ? `: over spawnRun's default of ${int(NFT_TIMEOUT_MS / 1000)} s` : ''}).`,
      );
      progress('bans (2): single adds into the full table');
      oneInto = await timeEach(SINGLE_ADDS, () =>
        nft.block([{ address: singleAddress(), timeoutSeconds: 3600 }]),
      );
    }
    const report = restored.loadReport;
    say(
      `(2) Restart restore of ${int(RESTORE_BANS)} bans: ${int(RESTORE_BANS - v6)} IPv4 (${int(BENCH_NET_SIZE)} in ` +
        `198.18.0.0/15, ${int(RESTORE_BANS - v6 - BENCH_NET_SIZE)} in 10.0.0.0/8),`,
    );
    say(
      `    ${int(v6)} IPv6 in 2001:db8::/32; ${int(expiring)} expire in 1 h, ${int(RESTORE_BANS - expiring)} never.`,
    );
    say(
      `    Written by this process with addMany in chunks of ${int(RESTORE_WRITE_CHUNK)} (compactEvery raised so ` +
        `nothing compacts meanwhile): ${seconds(writeMs)};`,
    );
    say(
      `    close(), which compacts them into one snapshot: ${seconds(closeMs)} (bans.snapshot ${mib(snapshot)}, ` +
        `bans.journal ${int(journal)} B). Files in the page cache.`,
    );
    say('    In a fresh child process (node --import tsx, nothing else loaded before):');
    out.push(
      ...table(
        [
          [`BanStore.open, loading ${int(restored.size)} bans`, seconds(restored.loadMs)],
          ...(restored.nft
            ? [
                [
                  `nft: ensureTable, then block() in ${restored.nft.chunkMs.length} chunks of ${int(NFT_CHUNK)}`,
                  seconds(restored.nft.ms),
                ],
              ]
            : [['nft', 'skipped']]),
          ['total', seconds(restored.totalMs)],
        ],
        '        ',
      ),
    );
    if (restored.nft) {
      say(
        `      nft detail: ensureTable ${ms(restored.nft.ensureMs)}; per chunk of ${int(NFT_CHUNK)}: median ` +
          `${ms(median(restored.nft.chunkMs))}, max ${ms(Math.max(...restored.nft.chunkMs))} (spawnRun's timeout: ` +
          `${int(NFT_TIMEOUT_MS)} ms); ${int(restored.nft.elements)} elements (timeouts: what is left of 1 h).`,
      );
    }
    say(
      `      Child peak RSS (maxRSS): ${kib(restored.maxRssKiB)}; at its start (Node + tsx): ` +
        `${kib(restored.startMaxRssKiB)}.`,
    );
    say(
      `      After: RSS ${mib(restored.rssAfter)}, heap used ${mib(restored.heapUsedAfter)} (no forced GC).`,
    );
    say(`      store.loadReport (expired: how many it listed): ${JSON.stringify(report)}`);
    if (nft) {
      for (const line of listLines) say(`    ${line}`);
      say(
        `    One more ban with ${int(RESTORE_BANS)} already in the sets: NftResponder.block ${spread(oneInto)}.`,
      );
    }
    say('');

    // (3) Detector memory.
    const detectors: [string, DetectorResult][] = [];
    for (const capacity of [RESTORED_CAPACITY, null]) {
      const label = capacity === null ? `${int(DEFAULT_MAX_TRACKED_SOURCES)} (default)` : int(capacity);
      progress(`bans (3): detector, capacity ${label}, ${int(FLOOD_SOURCES)} sources, in a child`);
      detectors.push([
        label,
        await runChild<DetectorResult>({ kind: 'detector', capacity, sources: FLOOD_SOURCES }),
      ]);
    }
    say(
      `(3) Detector with ${int(FLOOD_SOURCES)} distinct spoofed sources (${int(BENCH_NET_SIZE)} in 198.18.0.0/15, ` +
        `${int(FLOOD_SOURCES - BENCH_NET_SIZE)} in 10.0.0.0/8), one stcp SYN`,
    );
    say(
      '    each to one port, simulated 100,000 probes/s; new Detector({ignore, own: empty CidrSets}, {scanTrigger: 0, ' +
        'stealthPorts: 3,',
    );
    say(
      '    stealthWindowMs: 10_000, maxTrackedSources}); a fresh child per capacity. Heap: after forced GCs, ' +
        'the detector alive.',
    );
    out.push(
      ...table(
        [
          ['maxTrackedSources', 'peak RSS', 'heap used', 'detector heap', 'events/s', 'flood alerts'],
          ...detectors.map(([label, d]) => [
            label,
            mib(d.maxRssKiB * 1024),
            mib(d.heapAfter),
            mib(d.heapAfter - d.heapBefore),
            `${fixed(d.events / d.feedMs / 1000, 2)} M`,
            int(d.floodAlerts),
          ]),
        ],
        '      ',
      ),
    );
    for (const [label, d] of detectors) {
      say(
        `    ${label}: maxRSS ${int(d.maxRssKiB)} KiB (${int(d.startMaxRssKiB)} KiB at the child's start); RSS after ` +
          `${mib(d.rssAfter)}; ${int(d.events)} events in ${seconds(d.feedMs)}, of which`,
      );
      say(
        `      making source text and event ~${fixed((d.makeOnlyMs * 1e6) / FLOOD_SOURCES, 0)} ns/event (the loop without ` +
          `judge()), judge ~${fixed(((d.feedMs - d.makeOnlyMs) * 1e6) / d.events, 0)} ns/event.` +
          `${d.gc ? '' : ' No GC was available: heap figures include garbage.'}`,
      );
      for (const s of d.scanners) {
        const alerted = s.verdicts.includes('alert');
        say(
          `      Real scanner ${s.source}, 3 distinct ports ${int(s.gap)} flood probes apart at the end: ` +
            `${s.verdicts.join(', ')} -> ${alerted ? 'ALERT' : 'NO ALERT'}.`,
        );
      }
    }
    say(
      '    (The table forgets a source after between capacity/2 and capacity newer ones: a scanner slower than that ' +
        'under a flood',
    );
    say('    is not caught; a larger table catches it, at the memory above.)');
  } catch (err) {
    say(`Part 3 FAILED: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    progress('bans: cleaning up');
    for (const store of stores) await store.close().catch(() => undefined);
    cleanupSync();
    process.removeListener('exit', cleanupSync);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  return out;
}

// Child mode: `node --import tsx scripts/bench/bans.ts --bans-child '<request JSON>'`.
if (process.argv[2] === CHILD_FLAG && process.argv[1] !== undefined && resolve(process.argv[1]) === SELF) {
  childMain(process.argv[3] ?? '').then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (err: unknown) => {
      process.stderr.write(
        `bans child: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
