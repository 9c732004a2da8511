// Part 3, continued: the real daemon (built bin/portsnare) restarting on a ban store of 1,000,000
// bans, in a lab namespace with its own nftables. Times what an administrator waits for: the start
// (store load + every ban put back into nft, then the traps) until "now active", first on an empty
// ruleset (a reboot: the kernel forgot the sets) and then on the intact table (a plain restart);
// the daemon's peak RSS; and what status --json, unblock and stop cost at that size. Needs root and
// `npm run build`. Prints lines; never pass/fail.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBan } from '../../src/state/ban-records.ts';
import { BanStore, type Ban } from '../../src/state/ban-store.ts';
import { portsnareCli, prepareFiles, startDaemon, type RunningDaemon } from '../../test/helpers/daemon.ts';
import { createLab, type Lab } from '../../test/helpers/netns.ts';
import { int, mib, ms } from './stats.ts';

const BANS = 1_000_000;

function address(i: number): string {
  return i % 10 === 0
    ? `2001:db8::1:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}`
    : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

function peakRss(pid: number): number {
  const line = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return line ? Number(line[1]) * 1024 : NaN;
}

async function timedStart(lab: Lab, files: Awaited<ReturnType<typeof prepareFiles>>) {
  const started = performance.now();
  const daemon = await startDaemon(lab, files, ['-tcp']);
  const wall = performance.now() - started;
  const restored = daemon.sink.messages().find((m) => m.startsWith('adminalert: Restored '));
  return { daemon, wall, restored: restored ?? '(no "Restored" line)' };
}

export async function runDaemonRestoreBench(progress: (text: string) => void): Promise<string[]> {
  const out = [
    '  (4) The daemon restarting on 1,000,000 stored bans (built bin/portsnare, BLOCK_BACKEND=nft, -tcp)',
  ];
  const say = (line: string) => out.push(`      ${line}`);
  if (process.getuid?.() !== 0) return [...out, '      SKIPPED: needs root (network namespace, nftables).'];
  let lab: Lab | null = null;
  let daemon: RunningDaemon | null = null;
  try {
    lab = await createLab();
    const files = await prepareFiles({
      TCP_PORTS: '1,11',
      UDP_PORTS: '9',
      BLOCK_TCP: '1',
      BLOCK_BACKEND: 'nft',
    });
    progress('bans: writing 1,000,000 bans for the daemon restart');
    const store = await BanStore.open(join(files.stateDir, 'bans'), { compactEvery: 10 * BANS });
    const now = Date.now();
    for (let from = 0; from < BANS; from += 100_000) {
      const bans: Ban[] = [];
      for (let i = from; i < from + 100_000; i++) {
        bans.push(
          makeBan(
            address(i),
            now,
            i % 3 === 0 ? now + 3_600_000 : null,
            [i % 1024],
            'TCP SYN/Normal scan',
            'stcp',
            ['nft'],
          ),
        );
      }
      await store.addMany(bans);
    }
    await store.close();
    say(
      'Store: 900,000 IPv4 + 100,000 IPv6 bans, a third of them with an hour left, written as one snapshot.',
    );

    progress('bans: daemon start on an empty ruleset (as after a reboot)');
    const cold = await timedStart(lab, files);
    daemon = cold.daemon;
    say(`Start on an empty ruleset (after a reboot): "now active" after ${ms(cold.wall)}; ${cold.restored}.`);
    const sample = [address(1), address(777_777), address(999_999)];
    progress('bans: checking 3 sample elements (nft loads every element to answer)');
    const checkStarted = performance.now();
    const check = await lab.exec(
      lab.sensor,
      ['nft', 'get', 'element', 'inet', 'portsnare', 'blocked4', `{ ${sample.join(', ')} }`],
      { allowFail: true, timeoutMs: 180_000 },
    );
    say(
      `Check: nft get element of 3 sample addresses: ${check.code === 0 ? 'all present' : `FAILED: ${check.stderr.trim()}`} ` +
        `(the check alone took ${ms(performance.now() - checkStarted)}: nft 1.0.6 reads every element of the table to answer any listing).`,
    );
    say(`Daemon peak RSS (VmHWM): ${mib(peakRss(daemon.process.pid))}.`);

    let t = performance.now();
    const status = await portsnareCli(lab, files, ['status', '--json']);
    say(
      `status --json: ${ms(performance.now() - t)} (including the CLI's own start), ${mib(status.stdout.length)} of JSON, exit ${status.code}.`,
    );
    t = performance.now();
    const unblock = await portsnareCli(lab, files, ['unblock', address(1)]);
    say(
      `unblock of one address among 1,000,000: ${ms(performance.now() - t)} (including the CLI's start): ${unblock.stdout.trim()}.`,
    );
    t = performance.now();
    await daemon.stop();
    say(`stop (SIGTERM to exit, store compacted on close): ${ms(performance.now() - t)}.`);
    await daemon.sink.close();

    progress('bans: daemon restart on the intact table');
    const warm = await timedStart(lab, files);
    daemon = warm.daemon;
    say(`Restart with the table still in the kernel: "now active" after ${ms(warm.wall)}; ${warm.restored}.`);
    say(`(${int(BANS - 1)} bans: re-adding an element that is there only renews its timeout.)`);
    await daemon.stop();
  } catch (err) {
    say(`FAILED: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await daemon?.cleanup().catch(() => undefined);
    await lab?.destroy();
  }
  return out;
}
