import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr } from '../net/address.ts';
import { CidrSet } from '../net/cidr-set.ts';
import { Detector } from './detector.ts';
import type { ProbeEvent } from './probe.ts';
import { ScanScores } from './scan-scores.ts';
import { TriggerCounter } from './trigger.ts';

const probe = (source: string, port = 1): ProbeEvent => ({
  mode: 'tcp',
  protocol: 'tcp',
  evidence: 'handshake',
  source,
  port,
  time: 0,
});
const set = (...entries: string[]) => {
  const s = new CidrSet();
  for (const e of entries) {
    const parsed = parseCidr(e);
    if (parsed.ok) s.add(parsed.cidr);
  }
  return s;
};

test('SCAN_TRIGGER keeps 1.2 meaning: 0 and 1 fire on the first hit, 3 on the third', () => {
  for (const trigger of [0, 1]) assert.equal(new TriggerCounter(trigger).hit('192.0.2.1').fired, true);
  const counter = new TriggerCounter(3);
  assert.deepEqual(
    [1, 2, 3, 4].map(() => counter.hit('192.0.2.1').fired),
    [false, false, true, true],
  );
});

test('counts are per source and memory stays bounded', () => {
  const counter = new TriggerCounter(2, 1000);
  assert.equal(counter.hit('192.0.2.1').fired, false);
  for (let i = 0; i < 100_000; i++) counter.hit(`198.18.${(i >> 8) & 255}.${i & 255}-${i}`);
  assert.ok(counter.tracked <= 1000 && counter.tracked >= 500, String(counter.tracked));
  // The old entry was evicted (least recently used): a fresh count. Unlike 1.2's ring this cannot keep a
  // *recent* scanner under the trigger: a source used within the last capacity/2 new sources is kept.
  assert.equal(counter.hit('192.0.2.1').fired, false);
  assert.equal(counter.hit('192.0.2.1').fired, true);
});

test('a recently active source survives a flood of other sources', () => {
  const counter = new TriggerCounter(3, 100);
  counter.hit('192.0.2.9');
  for (let i = 0; i < 49; i++) counter.hit(`198.18.0.${i}`);
  assert.equal(counter.hit('192.0.2.9').count, 2);
  // Each use renews it: a source that keeps probing is never pushed out, however long the flood.
  for (let round = 0; round < 100; round++) {
    for (let i = 0; i < 49; i++) counter.hit(`198.19.${round}.${i}`);
    counter.hit('192.0.2.9');
  }
  assert.equal(counter.hit('192.0.2.9').count, 103);
});

test('own addresses and ignored sources are dropped before the trigger counts them', () => {
  const detector = new Detector(
    { ignore: set('10.231.0.0/24', '2001:db8:1::/64'), own: set('192.0.2.1', '127.0.0.0/8') },
    { scanTrigger: 2, stealthPorts: 3, stealthWindowMs: 10_000 },
  );
  assert.deepEqual(detector.judge(probe('10.231.0.5')), { kind: 'ignored', reason: 'ignore-list' });
  assert.deepEqual(detector.judge(probe('2001:db8:1::5')), { kind: 'ignored', reason: 'ignore-list' });
  assert.deepEqual(detector.judge(probe('192.0.2.1')), { kind: 'ignored', reason: 'own-address' });
  assert.deepEqual(detector.judge(probe('127.0.0.1')), { kind: 'ignored', reason: 'own-address' });
  assert.deepEqual(detector.judge(probe('203.0.113.5')), {
    kind: 'below-trigger',
    count: 1,
    distinctPorts: 1,
  });
  assert.deepEqual(detector.judge(probe('203.0.113.5', 2)), { kind: 'alert', count: 2 });
  assert.deepEqual(detector.judge(probe('2001:db8:2::5')), {
    kind: 'below-trigger',
    count: 1,
    distinctPorts: 1,
  });
});

test('reconfigure swaps the lists at once', () => {
  const triggers = { scanTrigger: 0, stealthPorts: 3, stealthWindowMs: 10_000 };
  const detector = new Detector({ ignore: set(), own: set() }, triggers);
  assert.equal(detector.judge(probe('203.0.113.5')).kind, 'alert');
  detector.reconfigure({ ignore: set('203.0.113.0/24'), own: set() }, triggers);
  assert.deepEqual(detector.judge(probe('203.0.113.5')), { kind: 'refused', reason: 'ignore-list' });
});

test('a never-block source that reaches the trigger is refused, never an alert', () => {
  const detector = new Detector(
    { ignore: set('10.231.0.0/24'), own: set('192.0.2.1') },
    { scanTrigger: 0, stealthPorts: 3, stealthWindowMs: 10_000 },
  );
  const syn = (source: string, port: number): ProbeEvent => ({
    mode: 'stcp',
    protocol: 'tcp',
    evidence: 'packet',
    source,
    port,
    time: port,
  });
  // Forged packet evidence from the gateway: below the distinct-port trigger it is only ignored...
  assert.deepEqual(detector.judge(syn('192.0.2.1', 1)), { kind: 'ignored', reason: 'own-address' });
  assert.deepEqual(detector.judge(syn('192.0.2.1', 2)), { kind: 'ignored', reason: 'own-address' });
  // ...at the trigger it is refused (the daemon logs that, rate-limited), and stays refused.
  for (const port of [3, 4, 5]) {
    assert.deepEqual(detector.judge(syn('192.0.2.1', port)), { kind: 'refused', reason: 'own-address' });
  }
  for (const port of [1, 2, 3]) {
    assert.notEqual(detector.judge(syn('10.231.0.7', port)).kind, 'alert');
  }
  assert.deepEqual(detector.judge(syn('10.231.0.7', 4)), { kind: 'refused', reason: 'ignore-list' });
});

test('packet evidence needs distinct ports within the window; a connect does not', () => {
  const detector = new Detector(
    { ignore: set(), own: set() },
    { scanTrigger: 0, stealthPorts: 3, stealthWindowMs: 10_000 },
  );
  const syn = (port: number, time: number): ProbeEvent => ({
    mode: 'stcp',
    protocol: 'tcp',
    evidence: 'packet',
    source: '198.51.100.9',
    port,
    time,
  });
  assert.equal(detector.judge(syn(1, 0)).kind, 'below-trigger');
  assert.equal(detector.judge(syn(1, 10)).kind, 'below-trigger', 'the same port again is no new evidence');
  assert.equal(detector.judge(syn(2, 20)).kind, 'below-trigger');
  assert.equal(detector.judge(syn(3, 30)).kind, 'alert');
  assert.equal(detector.judge(syn(4, 40)).kind, 'alert');
  assert.equal(detector.judge(probe('198.51.100.10')).kind, 'alert', 'a completed handshake acts at once');
});

test('TCP and UDP ports are different ports', () => {
  const detector = new Detector(
    { ignore: set(), own: set() },
    { scanTrigger: 0, stealthPorts: 2, stealthWindowMs: 10_000 },
  );
  const hit = (protocol: 'tcp' | 'udp') =>
    detector.judge({
      mode: protocol === 'tcp' ? 'atcp' : 'audp',
      protocol,
      evidence: 'packet',
      source: '198.51.100.3',
      port: 80,
      time: 1,
    }).kind;
  assert.equal(hit('tcp'), 'below-trigger');
  assert.equal(hit('udp'), 'alert');
});

test('distinct ports older than the window no longer count (the fixed window)', () => {
  const scores = new ScanScores(3, 1000, 0, null, 64);
  const a = Uint32Array.of(0, 0, 0xffff, 0xcb007109);
  assert.equal(scores.hit(a, 1, 0), false);
  assert.equal(scores.hit(a, 2, 700), false);
  assert.equal(scores.hit(a, 3, 1600), false);
  assert.equal(scores.distinct, 2);
  assert.equal(scores.hit(a, 4, 1700), true);
  assert.deepEqual([scores.distinct, scores.firedPorts()], [3, [2, 3, 4]]);
  // A source silent for longer than the window starts afresh.
  assert.equal(scores.hit(a, 5, 5000), false);
  assert.equal(scores.distinct, 1);
});

test('an alert on packet evidence names the distinct ports that made it (UDP ones unshifted)', () => {
  const detector = new Detector(
    { ignore: set(), own: set() },
    { scanTrigger: 0, stealthPorts: 3, stealthWindowMs: 10_000 },
  );
  const udp = (port: number) => ({
    mode: 'sudp' as const,
    protocol: 'udp' as const,
    evidence: 'packet' as const,
    source: '203.0.113.4',
    port,
    time: port,
  });
  assert.equal(detector.judge(udp(161)).kind, 'below-trigger');
  assert.equal(detector.judge(udp(162)).kind, 'below-trigger');
  const verdict = detector.judge(udp(7));
  assert.equal(verdict.kind, 'alert');
  assert.deepEqual(verdict.kind === 'alert' && verdict.ports, [161, 162, 7]);
  // A connect is real evidence on its own: no port list beyond its own.
  assert.deepEqual(detector.judge(probe('203.0.113.5')), { kind: 'alert', count: 1 });
});

test('a flood of one-port spoofed sources never alerts and stays bounded', () => {
  const detector = new Detector(
    { ignore: set(), own: set() },
    { scanTrigger: 0, stealthPorts: 3, stealthWindowMs: 10_000, maxTrackedSources: 10_000 },
  );
  let alerts = 0;
  for (let i = 0; i < 200_000; i++) {
    const source = `198.${18 + ((i >> 16) & 1)}.${(i >> 8) & 255}.${i & 255}`;
    if (
      detector.judge({ mode: 'atcp', protocol: 'tcp', evidence: 'packet', source, port: i % 1024, time: i })
        .kind === 'alert'
    )
      alerts++;
  }
  assert.equal(alerts, 0);
  // A real scanner in the middle of the flood is still caught on its third port.
  const scan = (port: number) =>
    detector.judge({
      mode: 'atcp',
      protocol: 'tcp',
      evidence: 'packet',
      source: '203.0.113.66',
      port,
      time: 200_000 + port,
    });
  assert.deepEqual(
    [1, 2, 3].map((p) => scan(p).kind),
    ['below-trigger', 'below-trigger', 'alert'],
  );
});

test('the evidence kind, not the mode name, decides whether distinct ports are needed', () => {
  const triggers = { scanTrigger: 0, stealthPorts: 3, stealthWindowMs: 10_000 };
  const judge = (event: Omit<ProbeEvent, 'source' | 'time'>) =>
    new Detector({ ignore: set(), own: set() }, triggers).judge({
      ...event,
      source: '198.51.100.20',
      time: 0,
    }).kind;
  // Classic -udp: a datagram acts on the first hit, as in 1.2.
  assert.equal(judge({ mode: 'udp', protocol: 'udp', evidence: 'datagram', port: 69 }), 'alert');
  // Classic -tcp: a completed handshake acts at once.
  assert.equal(judge({ mode: 'tcp', protocol: 'tcp', evidence: 'handshake', port: 1 }), 'alert');
  // Packet evidence needs STEALTH_TRIGGER_PORTS distinct ports, whatever mode it is labelled with...
  assert.equal(judge({ mode: 'stcp', protocol: 'tcp', evidence: 'packet', port: 1 }), 'below-trigger');
  assert.equal(judge({ mode: 'udp', protocol: 'udp', evidence: 'packet', port: 69 }), 'below-trigger');
  // ...and a handshake or datagram does not, even under a packet mode's name.
  assert.equal(judge({ mode: 'stcp', protocol: 'tcp', evidence: 'handshake', port: 1 }), 'alert');
  assert.equal(judge({ mode: 'audp', protocol: 'udp', evidence: 'datagram', port: 69 }), 'alert');
});

test('packet evidence alerts name their ports; handshake and datagram alerts do not', () => {
  const detector = new Detector(
    { ignore: set(), own: set() },
    { scanTrigger: 0, stealthPorts: 2, stealthWindowMs: 10_000 },
  );
  const hit = (source: string, evidence: ProbeEvent['evidence'], port: number) =>
    detector.judge({ mode: 'udp', protocol: 'udp', evidence, source, port, time: port });
  assert.deepEqual(hit('203.0.113.30', 'datagram', 7), { kind: 'alert', count: 1 });
  assert.equal(hit('203.0.113.31', 'packet', 7).kind, 'below-trigger');
  const verdict = hit('203.0.113.31', 'packet', 9);
  assert.equal(verdict.kind, 'alert');
  assert.deepEqual(verdict.kind === 'alert' && verdict.ports, [7, 9]);
});

test('a source that cannot be a real peer reaching the trigger is refused as not-a-peer; asked only then', () => {
  const asked: string[] = [];
  const detector = new Detector(
    {
      ignore: set(),
      own: set(),
      notAPeer: (address) => {
        asked.push(address);
        return address === '255.255.255.255' || address === 'ff02::1';
      },
    },
    { scanTrigger: 0, stealthPorts: 3, stealthWindowMs: 10_000 },
  );
  const syn = (source: string, port: number): ProbeEvent => ({
    mode: 'stcp',
    protocol: 'tcp',
    evidence: 'packet',
    source,
    port,
    time: port,
  });
  for (const source of ['255.255.255.255', 'ff02::1']) {
    assert.equal(detector.judge(syn(source, 1)).kind, 'below-trigger');
    assert.equal(detector.judge(syn(source, 2)).kind, 'below-trigger');
    assert.deepEqual(detector.judge(syn(source, 3)), { kind: 'refused', reason: 'not-a-peer' });
  }
  assert.deepEqual(asked, ['255.255.255.255', 'ff02::1'], 'only at the trigger');
  for (const port of [1, 2]) detector.judge(syn('198.51.100.7', port));
  assert.equal(detector.judge(syn('198.51.100.7', 3)).kind, 'alert');
  assert.equal(detector.listed('255.255.255.255'), 'not-a-peer');
  assert.equal(detector.listed('198.51.100.7'), null);
});
