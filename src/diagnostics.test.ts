// The typed diagnostics channels as a test sees them: subscribe, feed probes or start a sensor, and
// read what was published (the event with its evidence kind and verdict; the message kind), instead
// of scraping log text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressText } from './net/address-words.ts';
import { buildTcp, buildUdp } from '../test/builders/packets.ts';
import type { Settings } from './config/settings.ts';
import { Detector, probeChannel, type ProbeJudged } from './detect/detector.ts';
import type { ProbeEvent } from './detect/probe.ts';
import { ChannelNames } from './diagnostics.ts';
import { hasCode, ErrorCodes } from './errors.ts';
import { CidrSet } from './net/cidr-set.ts';
import { LinkType } from './packets/decode.ts';
import { createAlertLog, messageChannel, type MessageLogged } from './report/alert-log.ts';
import { ClassicTcpSensor, ClassicUdpSensor } from './sensors/classic.ts';
import { PacketPipeline } from './sensors/packet-pipeline.ts';
import type { SensorContext } from './sensors/sensor.ts';

function collect<T>(channel: { subscribe(listener: (m: T) => void): () => void }) {
  const seen: T[] = [];
  const unsubscribe = channel.subscribe((m) => seen.push(m));
  return { seen, unsubscribe };
}

const own = new CidrSet();
own.addAddress('192.0.2.1');
const detector = () =>
  new Detector({ ignore: new CidrSet(), own }, { scanTrigger: 0, stealthPorts: 2, stealthWindowMs: 10_000 });

test('the channels have their documented names', () => {
  assert.equal(probeChannel.name, ChannelNames.probe);
  assert.equal(messageChannel.name, ChannelNames.message);
  assert.equal(probeChannel.name, 'portsnare:probe');
  assert.equal(messageChannel.name, 'portsnare:message');
});

test('portsnare:probe carries every judged event with its verdict', () => {
  const d = detector();
  const { seen, unsubscribe } = collect<ProbeJudged>(probeChannel);
  const connect: ProbeEvent = {
    mode: 'tcp',
    protocol: 'tcp',
    evidence: 'handshake',
    source: '203.0.113.5',
    port: 143,
    time: 1,
  };
  const fromGateway: ProbeEvent = { ...connect, source: '192.0.2.1' };
  const syn = (port: number): ProbeEvent => ({
    mode: 'stcp',
    protocol: 'tcp',
    evidence: 'packet',
    source: '198.51.100.9',
    port,
    time: port,
  });
  for (const event of [connect, fromGateway, syn(1), syn(2)]) d.judge(event);
  unsubscribe();
  d.judge(syn(3));
  // The sequential test's score is checked in detect/sequential-test.test.ts; here only that it came.
  const last = seen.at(-1)?.verdict;
  assert.ok(last?.kind === 'alert' && last.score && last.score.value >= last.score.threshold);
  if (last?.kind === 'alert') delete last.score;
  assert.deepEqual(seen, [
    { event: connect, verdict: { kind: 'alert', count: 1 } },
    // At the trigger (0: the first hit), a never-block source is refused, not an alert.
    { event: fromGateway, verdict: { kind: 'refused', reason: 'own-address' } },
    { event: syn(1), verdict: { kind: 'below-trigger', count: 1, distinctPorts: 1 } },
    // SCAN_TRIGGER 0 fires on every hit (count 1); packet evidence also needs 2 distinct ports.
    { event: syn(2), verdict: { kind: 'alert', count: 1, ports: [1, 2] } },
  ]);
  assert.equal(probeChannel.hasSubscribers, false, 'unsubscribed: the fifth probe was not published');
});

test('probes from the packet pipeline are packet evidence, judged as such', () => {
  const d = detector();
  const { seen, unsubscribe } = collect<ProbeJudged>(probeChannel);
  const pipeline = new PacketPipeline(
    {
      tcp: { mode: 'stcp', ports: new Set([1, 11]), below: 0, exclude: new Set() },
      udp: { mode: 'audp', ports: null, below: 1024, exclude: new Set() },
    },
    { isLocal: (a) => addressText(a) === '192.0.2.1', isServed: () => false },
    (probe) => d.judgePacket(probe),
    () => {},
  );
  const spec = { family: 4 as const, source: '203.0.113.7', destination: '192.0.2.1', sourcePort: 40000 };
  pipeline.handle(LinkType.ETHERNET, buildTcp({ ...spec, destinationPort: 1, flags: 0x02 }), 1000);
  pipeline.handle(LinkType.ETHERNET, buildTcp({ ...spec, destinationPort: 11, flags: 0x01 }), 1001);
  pipeline.handle(LinkType.ETHERNET, buildUdp({ ...spec, destinationPort: 69 }), 1002);
  unsubscribe();
  assert.deepEqual(
    seen.map(({ event, verdict }) => [event.mode, event.evidence, event.port, event.label, verdict.kind]),
    [
      ['stcp', 'packet', 1, 'TCP SYN/Normal scan', 'below-trigger'],
      ['stcp', 'packet', 11, 'TCP FIN scan', 'alert'],
      ['audp', 'packet', 69, undefined, 'alert'],
    ],
  );
});

test('portsnare:message carries the kind of what a sensor logs', async () => {
  const log = createAlertLog({ ident: 'portsnare', syslog: null });
  const settings = { tcpPorts: [], udpPorts: [] } as unknown as Settings;
  const ctx: SensorContext = {
    log,
    settings: () => settings,
    onProbe: () => null,
    onPacketProbe: () => undefined,
    localAddresses: () => [],
  };
  const { seen, unsubscribe } = collect<MessageLogged>(messageChannel);
  for (const sensor of [new ClassicTcpSensor(ctx), new ClassicUdpSensor(ctx)]) {
    await assert.rejects(sensor.start(), (err) => hasCode(err, ErrorCodes.NO_TRAP_PORT));
  }
  unsubscribe();
  assert.deepEqual(
    seen.map((m) => m.message),
    [
      { kind: 'noPorts', protocol: 'tcp' },
      { kind: 'noPorts', protocol: 'udp' },
    ],
  );
});
