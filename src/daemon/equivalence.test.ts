// `replay` and the daemon decide alike: one capture, run once through `portsnare replay` and once
// through the daemon's own assembled stack (started as the daemon starts it, its sensor fed from
// the capture), both with dry-run backends. The alerts, the bans, what the backends would have done
// and the history lines must be the same (the cap, MAX_TRACKED_SOURCES and the ban keeper included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseIgnoreText } from '../config/ignore-file.ts';
import { loadSettingsFile } from '../config/load-settings.ts';
import type { Mode } from '../detect/probe.ts';
import { CidrSet } from '../net/cidr-set.ts';
import { buildTcp, buildUdp } from '../../test/builders/packets.ts';
import { LinkType } from '../packets/decode.ts';
import { readPcap, writePcap, type PcapFile, type PcapPacket } from '../packets/pcap-file.ts';
import { messageChannel, Reporter } from '../report/reporter.ts';
import { replayCapture } from '../cli/replay.ts';
import type { Ban } from '../state/ban-store.ts';
import { assemble } from './assemble.ts';
import { Daemon } from './daemon.ts';
import { DryRun } from './dry-run.ts';
import { PacketPipeline } from '../sensors/packet-pipeline.ts';
import type { Sensor, SensorContext } from '../sensors/sensor.ts';
import { buildWatchPlan } from '../sensors/watch-plan.ts';

const ME = '192.0.2.1';
const ME6 = '2001:db8::1';

function capture(): PcapFile {
  let t = Date.UTC(2026, 10, 23, 1, 16, 19) * 1000;
  const packets: Omit<PcapPacket, 'originalLength'>[] = [];
  const tcp = (source: string, port: number, destination = source.includes(':') ? ME6 : ME) =>
    packets.push({
      timestampUs: (t += 1000),
      data: buildTcp({
        family: source.includes(':') ? 6 : 4,
        source,
        destination,
        sourcePort: 40000,
        destinationPort: port,
        flags: 0x02,
      }),
    });
  for (let i = 0; i < 40; i++) tcp(`198.18.0.${i}`, 1 + (i % 20)); // spoofed singles
  for (const scanner of ['203.0.113.1', '203.0.113.2', '2001:db8:66::2', '203.0.113.4']) {
    for (const port of [1, 11, 15, 79, 111]) tcp(scanner, port);
  }
  for (const port of [1, 11, 15, 79]) tcp('198.51.100.77', port); // on the ignore list
  for (const port of [1, 11, 15, 79]) tcp(ME, port, ME); // the host itself: never blocked
  for (const port of [7, 9, 69, 161]) {
    packets.push({
      timestampUs: (t += 1000),
      data: buildUdp({
        family: 4,
        source: '203.0.113.5',
        destination: ME,
        sourcePort: 5353,
        destinationPort: port,
      }),
    });
  }
  return readPcap(writePcap(LinkType.ETHERNET, packets));
}

/** A packet sensor fed from a capture file instead of a live interface. */
function captureSensor(pcap: PcapFile, locals: string[], modes: readonly Mode[], ctx: SensorContext): Sensor {
  const { plan } = buildWatchPlan(ctx.settings(), modes, () => []);
  const local = new CidrSet();
  for (const a of locals) local.addAddress(a);
  const pipeline = new PacketPipeline(
    plan,
    { isLocal: (a) => local.hasWords(a), isServed: () => false },
    (probe) => ctx.onPacketProbe(probe),
    (message) => ctx.log.log(message),
  );
  return {
    name: 'capture',
    start() {
      for (const p of pcap.packets) pipeline.handle(pcap.linkType, p.data, p.timestampUs / 1000);
      return Promise.resolve();
    },
    counters: () => ({ packets: pipeline.counters.packets }),
    traps: () => [],
    close: () => Promise.resolve(),
  };
}

const DECISIONS = new Set([
  'stealthScan',
  'alreadyBlocked',
  'blockCapReached',
  'blockedNft',
  'blockedWrappers',
  'blockedRoute',
]);

/** The decision lines said while `run` runs, sorted (the daemon handles alerts concurrently). */
async function decisionsDuring(run: () => Promise<void>): Promise<string[]> {
  const said: string[] = [];
  const unsubscribe = messageChannel.subscribe(({ message, text }) => {
    if (DECISIONS.has(message.kind)) said.push(text);
  });
  try {
    await run();
  } finally {
    unsubscribe();
  }
  return said.sort();
}

const banView = (b: Ban) => ({ ...b, since: 0, expires: b.expires === null ? null : b.expires - b.since });

test('replay and the daemon stack decide the same alerts and bans on one capture', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-equiv-'));
  const conf = join(dir, 'portsentry.conf');
  await writeFile(
    conf,
    [
      `IGNORE_FILE="${dir}/ignore"`,
      `HISTORY_FILE="${dir}/history"`,
      `BLOCKED_FILE="${dir}/blocked"`,
      `HOSTS_DENY_FILE="${dir}/hosts.deny"`,
      `STATE_DIR="${dir}/state"`,
      `SYSLOG_SOCKET="${dir}/log.sock"`,
      'BLOCK_TCP="1"',
      'BLOCK_UDP="1"',
      'BLOCK_BACKEND="both"',
      'BLOCK_TIME="600"',
      'MAX_BLOCKS_PER_MINUTE="3"',
      'KILL_ROUTE="/sbin/iptables -I INPUT -s $TARGET$ -j DROP"',
    ].join('\n') + '\n',
  );
  const { settings } = await loadSettingsFile(conf);
  const ignore = parseIgnoreText(`${dir}/ignore`, '198.51.100.77\n');
  const modes: Mode[] = ['stcp', 'sudp'];
  const locals = [ME, ME6];
  const pcap = capture();

  let replayed!: Awaited<ReturnType<typeof replayCapture>>;
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const replayDecisions = await decisionsDuring(async () => {
    replayed = await replayCapture({ settings, ignore, modes, locals, pcap, out: sink });
  });

  const stack = assemble({
    modes,
    settings,
    ignore,
    reporter: new Reporter(),
    records: 'memory',
    dryRun: new DryRun(),
    hosts: { addresses: () => [...locals], guarded: () => [] },
    resolver: { nameOf: (a) => Promise.resolve(a) },
    sensors: (m, ctx) => [captureSensor(pcap, locals, m, ctx)],
  });
  const daemon = new Daemon(stack, {
    control: false,
    reload: () => Promise.reject(new RangeError('no reload here')),
  });
  const daemonDecisions = await decisionsDuring(async () => {
    await daemon.start();
    await stack.alerts.settled();
  });
  const daemonBans = stack.bans.keeper?.list().map(banView);
  await daemon.stop();

  assert.deepEqual(daemonDecisions, replayDecisions);
  assert.deepEqual(daemonBans, replayed.bans.keeper?.list().map(banView));
  assert.deepEqual(stack.dryRun?.actions.slice().sort(), replayed.dryRun?.actions.slice().sort());
  assert.deepEqual(stack.records?.lines.slice().sort(), replayed.records?.lines.slice().sort());
  for (const key of ['hits', 'alerts', 'blocks', 'refused', 'ignoredListed', 'failedResponses'] as const) {
    assert.equal(stack.alerts.counters[key], replayed.alerts.counters[key], key);
  }
  // What the capture holds: four TCP scanners and one UDP scanner, three of them banned (the cap).
  // blocksCapped counts refused attempts: a capped host's later hits retry one by one in replay,
  // while in the daemon hits that arrive together wait for the first one's outcome.
  assert.equal(replayed.alerts.counters.blocks, 3);
  assert.ok(stack.alerts.counters.blocksCapped >= 2 && replayed.alerts.counters.blocksCapped >= 2);
  assert.equal(replayed.alerts.counters.refused > 0, true);
  assert.ok(replayDecisions.some((d) => d.includes('is already blocked')));
  assert.ok(replayed.dryRun?.actions.some((a) => a.startsWith('nft + 203.0.113.1 600')));
  assert.ok(
    replayed.dryRun?.actions.some((a) => a.startsWith('run /sbin/iptables -I INPUT -s 203.0.113.1 -j DROP')),
  );
});
