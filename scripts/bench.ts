// `npm run bench`: a benchmark that prints figures, never a pass/fail test.
//
// Part 1 (scripts/bench/replay.ts, no root): packets/s and ns/packet of the packet decoder alone and
// of the daemon's per-packet path (PacketPipeline + Detector) over a synthetic capture of a few
// million packets held in memory, with the detector's state and the process's memory after it,
// plus the decoder fuzz loop; then (scripts/bench/memory.ts) the memory of big inputs: `portsnare
// replay` of a 1.2 GB capture and an ignore file of 1,000,000 entries. Part 2 (scripts/bench/live.ts, root): the built daemon in network
// namespaces, timed from a scanner's first probe to its block, idle and under spoofed floods.
// Part 3 (scripts/bench/bans.ts; nftables figures need root): adding one and 100,000 bans to the ban
// store and to nftables (in a private network namespace), restoring 1,000,000 bans after a restart
// (store load + nft, in a fresh child process, with its peak RSS), and the detector's memory and
// throughput with 2,000,000 spoofed sources at a table capacity of 1,000,000 and at the default;
// then (scripts/bench/daemon-restore.ts) the built daemon itself restarting on 1,000,000 stored bans.
// Part 1c (scripts/bench/forged-floods.ts): the forged floods of issue 10 in packet time. Part 2b
// (scripts/bench/live-scale.ts, root): the daemon with 1,000,000 tracked sources at 100/200 kpps.
// Part 4 (scripts/bench/logcheck.ts, with --replay-only too): `portsnare logcheck` against Debian's
// logcheck on a 100 MB log, in the same run.
// Part 5 (scripts/bench/digest.ts, with --replay-only too): `portsnare report`: the sample digest
// against logcheck's mail, and a day of 1,000,000 lines with 5,000 blocked hosts.
//
// The report (stdout) names each figure, how it was measured and the machine; progress goes to
// stderr. Options: `npm run bench -- --help`.
import { cpus, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { release, arch } from 'node:os';
import { runBansBench } from './bench/bans.ts';
import { runDaemonRestoreBench } from './bench/daemon-restore.ts';
import { interrupted, runLiveBench } from './bench/live.ts';
import { parseOptions, UsageError, USAGE, type BenchOptions } from './bench/options.ts';
import { runReplayBench } from './bench/replay.ts';
import { runMemoryBench } from './bench/memory.ts';
import { runLiveScaleBench } from './bench/live-scale.ts';
import { runDigestBench } from './bench/digest.ts';
import { runLogcheckBench } from './bench/logcheck.ts';
import { runForgedFloodBench } from './bench/forged-floods.ts';
import { fixed, int } from './bench/stats.ts';

function machine(): string[] {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  let distro = '';
  try {
    distro = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    // not Linux, or no os-release
  }
  return [
    `Machine: nproc ${cpus().length} (${model}), ${fixed(totalmem() / 2 ** 30, 1)} GiB RAM`,
    `         Node ${process.version} (V8 ${process.versions.v8}), kernel Linux ${release()} ${arch()}` +
      `${distro ? `, ${distro}` : ''}`,
  ];
}

function optionLine(opts: BenchOptions): string {
  const parts = [
    opts.replay && `packets=${int(opts.packets)} runs=${opts.runs} fuzz=${int(opts.fuzz)} seed=${opts.seed}`,
    opts.live &&
      `iterations=${opts.iterations} flood=${opts.floodRates.length ? opts.floodRates.map((r) => int(r)).join(',') : 'none'} pps x ${opts.floodSeconds ?? 'auto'} s` +
        `${opts.contrast && opts.floodRates.length ? ' + contrast' : ''} block-backend=${opts.blockBackend}`,
    opts.bans && 'bans: fixed sizes (100,000-ban batches, 1,000,000 restored, 2,000,000 sources)',
  ].filter(Boolean);
  return `Options: ${parts.join('; ')} (npm run bench -- --help)`;
}

async function main(): Promise<number> {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n\n${USAGE}`);
    return 64;
  }
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const started = performance.now();
  const progress = (text: string) =>
    process.stderr.write(`[bench ${fixed((performance.now() - started) / 1000, 0).padStart(3)} s] ${text}\n`);
  const print = (lines: readonly string[]) => process.stdout.write(`${lines.join('\n')}\n`);

  print([
    'portsnare benchmark report',
    '==========================',
    `Date: ${new Date().toISOString()}`,
    ...machine(),
    `Command: ${['node --import tsx scripts/bench.ts', ...process.argv.slice(2)].join(' ')}`,
    optionLine(opts),
    '',
  ]);
  if (opts.replay) {
    print(runReplayBench(opts, progress));
    print(['']);
    print(runMemoryBench(progress));
    print(['']);
    print(await runForgedFloodBench(progress));
    print(['']);
    print(runLogcheckBench(progress));
    print(['']);
    print(runDigestBench(progress));
    print(['']);
  }
  if (opts.live) {
    print(await runLiveBench(opts, progress));
    print(['']);
    if (!interrupted()) print(await runLiveScaleBench(opts.scaleRates, progress));
    print(['']);
  }
  if (opts.bans && !interrupted()) {
    print(await runBansBench(progress));
    if (!interrupted()) print(await runDaemonRestoreBench(progress));
    print(['']);
  }
  print([`Total bench time: ${fixed((performance.now() - started) / 1000, 0)} s.`]);
  return interrupted() ? 130 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
