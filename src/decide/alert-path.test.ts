// The alert path without sensors, root or network: verdicts counted, refusals said once, the ignore
// list silent, one response per host at a time, MAX_PENDING_ALERTS, the block-rate cap per evidence
// kind, "already blocked", records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settingsFromConf, type Settings } from '../config/settings.ts';
import type { Verdict } from '../detect/detector.ts';
import type { Mode, ProbeEvent } from '../detect/probe.ts';
import type { LogMessage } from '../report/messages.ts';
import type { BlockRecord } from '../report/reporter.ts';
import type { BanOutcome, BanRequest } from '../respond/ban-keeper.ts';
import { AlertPath, type AlertPathDeps } from './alert-path.ts';

const T0 = Date.UTC(2026, 10, 23, 1, 16, 19);

function probe(source: string, port = 1, mode: Mode = 'stcp', time = T0): ProbeEvent {
  return {
    mode,
    protocol: mode.endsWith('udp') ? 'udp' : 'tcp',
    evidence: mode === 'tcp' ? 'handshake' : mode === 'udp' ? 'datagram' : 'packet',
    source,
    port,
    time,
    label: 'TCP SYN/Normal scan',
  };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

interface Harness {
  path: AlertPath;
  messages: LogMessage[];
  kinds: () => string[];
  bans: BanRequest[];
  records: BlockRecord[];
  banned: Set<string>;
  listed: Set<string>;
  clock: { now: number };
}

function harness(
  opts: {
    settings?: Partial<Settings>;
    verdict?: (e: ProbeEvent) => Verdict;
    ban?: (r: BanRequest) => Promise<BanOutcome>;
    maxPending?: number;
  } = {},
): Harness {
  const settings: Settings = {
    ...settingsFromConf(null).settings,
    blockTcp: 1,
    blockUdp: 1,
    ...opts.settings,
  };
  const messages: LogMessage[] = [];
  const bans: BanRequest[] = [];
  const records: BlockRecord[] = [];
  const banned = new Set<string>();
  const listed = new Set<string>();
  const clock = { now: T0 };
  const ok = async (r: BanRequest): Promise<BanOutcome> => {
    banned.add(r.address);
    await r.record?.();
    return { ok: true, actions: [], ban: null };
  };
  const deps: AlertPathDeps = {
    detector: { judge: opts.verdict ?? (() => ({ kind: 'alert', count: 3, ports: [1, 2, 3] })) },
    neverBlock: { reason: (_a, why) => (why === 'ignore-list' ? 'it is on the ignore list' : 'it is mine') },
    bans: () => ({
      has: (a: string) => banned.has(a),
      ban: (r: BanRequest) => {
        bans.push(r);
        return (opts.ban ?? ok)(r);
      },
    }),
    ledger: { has: (a) => Promise.resolve(listed.has(a)) },
    report: {
      log: (m) => messages.push(m),
      blocked: (r) => {
        records.push(r);
        return Promise.resolve();
      },
    },
    settings: () => settings,
    resolver: { nameOf: (a) => Promise.resolve(a) },
    now: () => clock.now,
    maxPending: opts.maxPending,
  };
  const path = new AlertPath(deps);
  return { path, messages, kinds: () => messages.map((m) => m.kind), bans, records, banned, listed, clock };
}

test('an alert is logged, banned once with its ports and scan type, and recorded in history and blocked files', async () => {
  const h = harness({ settings: { blockTime: 600 } });
  h.path.onProbe(probe('203.0.113.9', 15));
  await h.path.settled();
  assert.deepEqual(h.kinds(), ['stealthScan']);
  assert.equal(h.bans.length, 1);
  assert.deepEqual(
    { ...h.bans[0], host: undefined, record: undefined },
    {
      address: '203.0.113.9',
      host: undefined,
      record: undefined,
      port: 15,
      mode: 'stcp',
      protocol: 'tcp',
      ports: [1, 2, 3],
      scanType: 'TCP SYN/Normal scan',
      seconds: 600,
      // The probe's own evidence kind goes into the ban record.
      origin: 'detection',
      evidence: 'packet',
    },
  );
  assert.equal(h.records.length, 1);
  assert.equal(h.records[0]?.mode, 'stcp');
  assert.match(
    h.records[0]?.line ?? '',
    /^\d+ - \S+ \S+ Host: 203\.0\.113\.9\/203\.0\.113\.9 Port: 15 TCP Blocked$/,
  );
  assert.equal(h.path.counters.alerts, 1);
  assert.equal(h.path.counters.blocks, 1);
});

test('verdicts are counted; an own address at the trigger is said once per interval, never banned', async () => {
  let verdict: Verdict = { kind: 'ignored', reason: 'own-address' };
  const h = harness({ verdict: () => verdict });
  h.path.onProbe(probe('192.0.2.1'));
  verdict = { kind: 'below-trigger', count: 1, distinctPorts: 1 };
  h.path.onProbe(probe('203.0.113.1'));
  verdict = { kind: 'refused', reason: 'own-address' };
  h.path.onProbe(probe('192.0.2.1', 2, 'stcp', T0));
  h.path.onProbe(probe('192.0.2.1', 3, 'stcp', T0 + 1000));
  verdict = { kind: 'refused', reason: 'not-a-peer' };
  h.path.onProbe(probe('192.0.2.255', 4, 'stcp', T0 + 2000));
  await h.path.settled();
  const refusals = h.messages.filter((m) => m.kind === 'refusedBlock');
  assert.deepEqual(refusals, [
    { kind: 'refusedBlock', address: '192.0.2.1', reason: 'it is mine', intervalSeconds: 600 },
    { kind: 'refusedBlock', address: '192.0.2.255', reason: 'it is mine', intervalSeconds: 600 },
  ]);
  assert.equal(h.bans.length, 0);
  const c = h.path.counters;
  assert.deepEqual(
    [c.hits, c.ignored, c.belowTrigger, c.refused, c.ignoredListed, c.alerts],
    [5, 1, 1, 3, 0, 0],
  );
});

test('the ignore list is silent, as in 1.2: a listed source at the trigger is only counted, never said or banned', async () => {
  let verdict: Verdict = { kind: 'ignored', reason: 'ignore-list' };
  const h = harness({ verdict: () => verdict });
  h.path.onProbe(probe('198.51.100.77'));
  verdict = { kind: 'refused', reason: 'ignore-list' };
  h.path.onProbe(probe('198.51.100.77', 2, 'stcp', T0));
  h.path.onProbe(probe('198.51.100.77', 3, 'tcp', T0 + 1000));
  await h.path.settled();
  assert.equal(h.messages.length, 0, 'nothing is said');
  assert.equal(h.bans.length, 0);
  const c = h.path.counters;
  assert.deepEqual([c.hits, c.ignored, c.ignoredListed, c.refused, c.alerts], [3, 1, 2, 0, 0]);

  // Silent refusals spend nothing of the once-per-interval log: an own address is still said.
  verdict = { kind: 'refused', reason: 'own-address' };
  h.path.onProbe(probe('198.51.100.77', 4, 'stcp', T0 + 2000));
  assert.deepEqual(
    h.messages.map((m) => m.kind),
    ['refusedBlock'],
  );
});

test('a confirm() that calls the alert off counts as below the trigger', async () => {
  const h = harness();
  assert.equal(
    h.path.onProbe(probe('203.0.113.9'), () => false),
    null,
  );
  await h.path.settled();
  assert.equal(h.path.counters.belowTrigger, 1);
  assert.equal(h.bans.length, 0);
});

test('one response in flight per host: later hits wait for its outcome, then say "already blocked"', async () => {
  const gate = deferred<BanOutcome>();
  const h = harness({ ban: () => gate.promise });
  h.path.onProbe(probe('203.0.113.9', 1));
  h.path.onProbe(probe('203.0.113.9', 2));
  await new Promise((r) => setImmediate(r));
  assert.equal(h.path.pendingResponses, 1);
  assert.ok(!h.kinds().includes('alreadyBlocked'), 'the second waits');
  gate.resolve({ ok: true, actions: [], ban: null });
  await h.path.settled();
  assert.equal(h.bans.length, 1);
  assert.deepEqual(h.kinds(), ['stealthScan', 'stealthScan', 'alreadyBlocked']);
  assert.equal(h.path.pendingResponses, 0);
});

test('a failed response is not "already blocked" for the hits that waited, and is not recorded', async () => {
  const h = harness({ ban: () => Promise.resolve({ ok: false, actions: [], ban: null }) });
  h.path.onProbe(probe('203.0.113.9', 1));
  h.path.onProbe(probe('203.0.113.9', 2));
  await h.path.settled();
  assert.ok(!h.kinds().includes('alreadyBlocked'));
  assert.equal(h.records.length, 0);
  assert.equal(h.path.counters.failedResponses, 1);
});

test('a host banned already, or listed in a blocked file, is "already blocked" without a new response', async () => {
  const h = harness();
  h.banned.add('203.0.113.1');
  h.listed.add('203.0.113.2');
  h.path.onProbe(probe('203.0.113.1'));
  h.path.onProbe(probe('203.0.113.2'));
  await h.path.settled();
  assert.equal(h.bans.length, 0);
  assert.equal(h.kinds().filter((k) => k === 'alreadyBlocked').length, 2);
});

test('beyond MAX_PENDING_ALERTS alerts are counted and dropped', async () => {
  const gate = deferred<BanOutcome>();
  const h = harness({ ban: () => gate.promise, maxPending: 2 });
  for (let i = 1; i <= 5; i++) h.path.onProbe(probe(`203.0.113.${i}`));
  assert.equal(h.path.counters.alertsDropped, 3);
  gate.resolve({ ok: true, actions: [], ban: null });
  await h.path.settled();
  assert.equal(h.bans.length, 2);
});

test('MAX_BLOCKS_PER_MINUTE: past the cap hosts are logged, not banned; the next minute says how many; BLOCK_x=0 is never capped', async () => {
  const h = harness({ settings: { maxBlocksPerMinute: 1 } });
  for (let i = 1; i <= 3; i++) {
    h.path.onProbe(probe(`203.0.113.${i}`));
    await h.path.settled();
  }
  assert.equal(h.bans.length, 1);
  assert.equal(h.path.counters.blocksCapped, 2);
  assert.equal(h.path.counters.blocksCappedPacket, 2);
  assert.deepEqual(
    h.messages.filter((m) => m.kind === 'blockCapReached'),
    [{ kind: 'blockCapReached', limit: 1, evidence: 'packet' }],
  );
  h.clock.now += 60_000;
  h.path.onProbe(probe('203.0.113.4'));
  await h.path.settled();
  assert.deepEqual(
    h.messages.filter((m) => m.kind === 'blockCapSummary'),
    [{ kind: 'blockCapSummary', limit: 1, evidence: 'packet', suppressed: 2 }],
  );
  assert.equal(h.bans.length, 2);

  const logOnly = harness({ settings: { maxBlocksPerMinute: 1, blockTcp: 0 } });
  for (let i = 1; i <= 3; i++) logOnly.path.onProbe(probe(`203.0.113.${i}`));
  await logOnly.path.settled();
  assert.equal(logOnly.bans.length, 3);
  assert.equal(logOnly.path.counters.blocksCapped, 0);
});

test('one MAX_BLOCKS_PER_MINUTE budget per evidence kind: forged packets spent theirs, a connect scanner is still blocked at once', async () => {
  const h = harness({ settings: { maxBlocksPerMinute: 2 } });
  for (let i = 1; i <= 3; i++) {
    h.path.onProbe(probe(`198.18.0.${i}`, 1, 'stcp'));
    await h.path.settled();
  }
  assert.deepEqual(
    h.bans.map((b) => b.address),
    ['198.18.0.1', '198.18.0.2'],
  );
  const c = h.path.counters;
  assert.deepEqual(
    [c.blocksCapped, c.blocksCappedPacket, c.blocksCappedDatagram, c.blocksCappedHandshake],
    [1, 1, 0, 0],
  );
  assert.deepEqual(
    h.messages.filter((m) => m.kind === 'blockCapReached'),
    [{ kind: 'blockCapReached', limit: 2, evidence: 'packet' }],
  );

  // Same minute: a completed handshake from a fourth source is blocked at once.
  h.path.onProbe(probe('203.0.113.4', 143, 'tcp'));
  await h.path.settled();
  assert.equal(h.bans.at(-1)?.address, '203.0.113.4');
  assert.equal(h.bans.at(-1)?.evidence, 'handshake');
  assert.equal(h.path.counters.blocks, 3);
  assert.equal(h.path.counters.blocksCapped, 1);

  // Datagrams have their own budget too, untouched by the packets.
  h.path.onProbe(probe('203.0.113.5', 9, 'udp'));
  await h.path.settled();
  assert.equal(h.bans.at(-1)?.address, '203.0.113.5');
  assert.equal(h.path.counters.blocks, 4);
});

test('a changed MAX_BLOCKS_PER_MINUTE starts the cap of every evidence kind afresh', async () => {
  const h = harness({ settings: { maxBlocksPerMinute: 1 } });
  h.path.onProbe(probe('203.0.113.1'));
  h.path.onProbe(probe('203.0.113.11', 143, 'tcp'));
  h.path.onProbe(probe('203.0.113.21', 9, 'udp'));
  await h.path.settled();
  h.path.setBlockLimit(2);
  h.path.onProbe(probe('203.0.113.2'));
  h.path.onProbe(probe('203.0.113.3'));
  h.path.onProbe(probe('203.0.113.12', 143, 'tcp'));
  h.path.onProbe(probe('203.0.113.13', 143, 'tcp'));
  h.path.onProbe(probe('203.0.113.22', 9, 'udp'));
  h.path.onProbe(probe('203.0.113.23', 9, 'udp'));
  await h.path.settled();
  assert.equal(h.bans.length, 9);
  assert.equal(h.path.counters.blocksCapped, 0);
});

test('a classic hit returns PORT_BANNER; a failure while handling is logged, not thrown', async () => {
  const h = harness({
    settings: { portBanner: 'go away' },
    ban: () => Promise.reject(new RangeError('boom')),
  });
  const banner = h.path.onProbe(probe('203.0.113.9', 143, 'tcp'));
  assert.equal(banner?.toString(), 'go away');
  await h.path.settled();
  assert.deepEqual(h.kinds(), ['connect', 'sensorError']);
});
