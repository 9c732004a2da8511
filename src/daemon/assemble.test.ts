// The assemble step and the daemon's lifecycle without root or network: a stack with dry-run
// backends and real history/blocked files, services started in order and stopped in reverse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIgnoreText } from '../config/ignore-file.ts';
import type { Settings } from '../config/settings.ts';
import { loadSettingsFile } from '../config/load-settings.ts';
import type { ProbeEvent } from '../detect/probe.ts';
import { formatHistoryLine } from '../report/history.ts';
import { formatMessage, type LogMessage } from '../report/messages.ts';
import { Reporter } from '../report/reporter.ts';
import { BanStore } from '../state/ban-store.ts';
import { makeBan } from '../state/ban.ts';
import { statePaths } from '../state/state-dir.ts';
import type { OutgoingMail } from '../mail/deliver.ts';
import { AlertMailer } from './alert-mail.ts';
import { assemble } from './assemble.ts';
import { Daemon } from './daemon.ts';
import { DryRun } from './dry-run.ts';
import type { Sensor } from '../sensors/sensor.ts';
import { triggerSettings } from './stack.ts';

async function setup(extra: string[] = []): Promise<{ dir: string; settings: Settings }> {
  const dir = await mkdtemp(join(tmpdir(), 'psn-assemble-'));
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
      'BLOCK_BACKEND="classic"',
      ...extra,
    ].join('\n') + '\n',
  );
  return { dir, settings: (await loadSettingsFile(conf)).settings };
}

const NO_IGNORE = parseIgnoreText('ignore', '');
const time = Date.UTC(2026, 10, 23, 1, 16, 19);
const syn = (port: number, source = '203.0.113.9'): ProbeEvent => ({
  mode: 'stcp',
  protocol: 'tcp',
  evidence: 'packet',
  source,
  port,
  time,
  label: 'TCP SYN/Normal scan',
});

function recording(): { reporter: Reporter; messages: LogMessage[] } {
  const messages: LogMessage[] = [];
  return { reporter: new Reporter([{ message: (e) => messages.push(e.message) }]), messages };
}

test('the detector gets the daemon trigger settings, MAX_TRACKED_SOURCES included', async () => {
  const { settings } = await setup(['MAX_TRACKED_SOURCES="100"']);
  assert.equal(triggerSettings(settings).maxTrackedSources, 100);
});

test('assembled with files: the blocked file is emptied at open, a ban writes history and blocked lines, an unblock removes the blocked line', async () => {
  const { dir, settings } = await setup();
  await writeFile(join(dir, 'blocked.stcp'), 'stale\n');
  const { reporter } = recording();
  const dryRun = new DryRun();
  const stack = assemble({
    modes: ['stcp'],
    settings,
    ignore: NO_IGNORE,
    reporter,
    dryRun,
    hosts: { addresses: () => ['192.0.2.1'], guarded: () => [] },
    resolver: { nameOf: (a) => Promise.resolve(a) },
  });
  await reporter.open();
  assert.equal(await readFile(join(dir, 'blocked.stcp'), 'utf8'), '');
  const { keeper } = await stack.bans.open();
  for (const port of [1, 11, 15]) stack.alerts.onProbe(syn(port));
  await stack.alerts.settled();
  const line = /^\d+ - \S+ \S+ Host: 203\.0\.113\.9\/203\.0\.113\.9 Port: 15 TCP Blocked\n$/;
  assert.match(await readFile(join(dir, 'history'), 'utf8'), line);
  assert.match(await readFile(join(dir, 'blocked.stcp'), 'utf8'), line);
  assert.deepEqual(dryRun.actions, [
    `hosts.deny ${dir}/hosts.deny + ALL: 203.0.113.9 : DENY`,
    'run /sbin/route add -host 203.0.113.9 reject',
  ]);
  assert.equal(keeper.has('203.0.113.9'), true);
  await keeper.unblock('203.0.113.9');
  assert.equal(await readFile(join(dir, 'blocked.stcp'), 'utf8'), '');
  assert.match(await readFile(join(dir, 'history'), 'utf8'), line, 'history is kept');
  await stack.bans.close();
});

test('the daemon starts its services in order, stops them in reverse, and says 1.2 lines around them', async () => {
  const { dir, settings } = await setup();
  const { reporter, messages } = recording();
  const calls: string[] = [];
  const sensor: Sensor = {
    name: 'fake',
    start: () => {
      calls.push(`start pid=${existsSync(statePaths(settings.stateDir).pidFile)}`);
      return Promise.resolve();
    },
    counters: () => ({ probes: 7 }),
    traps: () => [{ mode: 'stcp', ports: [1] }],
    close: () => {
      calls.push('close');
      return Promise.resolve();
    },
  };
  const stack = assemble({
    modes: ['stcp'],
    settings,
    ignore: NO_IGNORE,
    reporter,
    dryRun: new DryRun(),
    hosts: { addresses: () => ['192.0.2.1'], guarded: () => [] },
    sensors: () => [sensor],
  });
  const daemon = new Daemon(stack, {
    control: false,
    reload: async () => ({ loaded: await loadSettingsFile(join(dir, 'portsentry.conf')), ignore: NO_IGNORE }),
  });
  await daemon.start();
  const kinds = messages.map((m) => m.kind);
  assert.equal(kinds[0], 'starting');
  assert.equal(kinds.at(-1), 'active');
  assert.ok(kinds.indexOf('blockBackend') > 0);
  assert.deepEqual(calls, ['start pid=true']);
  assert.deepEqual(daemon.traps(), [{ mode: 'stcp', ports: [1] }]);
  daemon.logCounters();
  const counters = messages.at(-1);
  assert.equal(counters?.kind, 'counters');
  assert.deepEqual(Object.keys(counters.kind === 'counters' ? counters.counters : {}), [
    'hits',
    'ignored',
    'ignoredListed',
    'refused',
    'belowTrigger',
    'alerts',
    'blocks',
    'failedResponses',
    'alertsDropped',
    'blocksCapped',
    'blocksCappedHandshake',
    'blocksCappedDatagram',
    'blocksCappedPacket',
    'pendingResponses',
    'trackedSources',
    'fake.probes',
    'alertMail.sent',
    'alertMail.failed',
    'alertMail.deferred',
  ]);
  await daemon.reload();
  assert.equal(messages.at(-1)?.kind, 'reloaded');
  await daemon.stop();
  assert.deepEqual(calls, ['start pid=true', 'close']);
  assert.deepEqual(
    messages.slice(-2).map((m) => m.kind),
    ['shuttingDownSecurity', 'shuttingDownAdmin'],
  );
  assert.equal(existsSync(statePaths(settings.stateDir).pidFile), false);
});

test('a service that cannot start stops the start; what began is stopped and the shutdown pair said', async () => {
  const { settings } = await setup();
  const { reporter, messages } = recording();
  const stack = assemble({
    modes: ['stcp'],
    settings,
    ignore: NO_IGNORE,
    reporter,
    dryRun: new DryRun(),
    hosts: { addresses: () => [], guarded: () => [] },
    sensors: () => [
      {
        name: 'broken',
        start: () => Promise.reject(new RangeError('no trap')),
        counters: () => ({}),
        traps: () => [],
        close: () => Promise.resolve(),
      },
    ],
  });
  const daemon = new Daemon(stack, { control: false, reload: () => Promise.reject(new RangeError('none')) });
  await assert.rejects(daemon.start(), /no trap/);
  assert.ok(!messages.some((m) => m.kind === 'active'));
  await daemon.stop();
  assert.equal(messages.at(-1)?.kind, 'shuttingDownAdmin');
  assert.equal(existsSync(statePaths(settings.stateDir).pidFile), false);
  assert.equal(stack.bans.store?.size, 0);
});

test("assembled: restore puts back no ban of a never-block address and writes the missing history line of a cut-off ban once; a reload lifts a ban whose host became ignored; the counters carry the sinks'", async () => {
  const { dir, settings } = await setup();
  const before = await BanStore.open(statePaths(settings.stateDir).bans, { now: () => time });
  await before.addMany([
    makeBan('192.0.2.1', time, null, [1], 'TCP SYN/Normal scan', 'stcp', ['hosts.deny']), // own address
    makeBan('127.0.0.1', time, null, [], 'manual', 'manual', ['hosts.deny']), // loopback
    makeBan('203.0.113.7', time, null, [1, 11, 15], 'TCP SYN/Normal scan', 'stcp', ['hosts.deny'], {
      state: 'pending',
    }),
    makeBan('203.0.113.8', time, null, [1], 'TCP SYN/Normal scan', 'stcp', ['hosts.deny']),
  ]);
  await before.close();
  const { reporter, messages } = recording();
  reporter.add({ counters: () => ({ 'syslog.dropped': 2 }) });
  const stack = assemble({
    modes: ['stcp'],
    settings,
    ignore: NO_IGNORE,
    reporter,
    dryRun: new DryRun(),
    hosts: { addresses: () => ['192.0.2.1'], guarded: () => [] },
    resolver: { nameOf: (a) => Promise.resolve(a) },
  });
  await reporter.open();
  await stack.bans.startOpen();
  await stack.bans.restore();
  const keeper = stack.bans.keeper!;
  assert.deepEqual(
    keeper.list().map((b) => b.address),
    ['203.0.113.7', '203.0.113.8'],
  );
  const said = messages.map(formatMessage);
  assert.ok(
    said.includes(
      'adminalert: Not restoring the ban of host 192.0.2.1: it is an address of this host; lifted from: hosts.deny',
    ),
    said.join('\n'),
  );
  assert.ok(said.some((m) => m.startsWith('adminalert: Not restoring the ban of host 127.0.0.1: ')));
  const history = await readFile(join(dir, 'history'), 'utf8');
  assert.equal(
    history,
    `${formatHistoryLine({ time: new Date(time), host: '203.0.113.7', address: '203.0.113.7', port: 15, protocol: 'tcp' })}\n`,
  );

  messages.length = 0;
  stack.reconfigure(settings, parseIgnoreText('ignore', '203.0.113.8\n'));
  stack.refreshAddresses(true);
  assert.equal(await stack.liftNeverBlocked(), 1);
  assert.deepEqual(messages.map(formatMessage), [
    'attackalert: Host 203.0.113.8 has been unblocked (it is on the ignore list): hosts.deny',
  ]);
  assert.deepEqual(
    keeper.list().map((b) => b.address),
    ['203.0.113.7'],
  );
  assert.equal(stack.allCounters()['syslog.dropped'], 2);
  await stack.bans.close();
});

test('the daemon mails its first block (REPORT_ALERT_MAIL=1), defers the next, and follows a SIGHUP that turns the mail off', async () => {
  const { dir, settings } = await setup(['REPORT_ALERT_MAIL="1"', 'REPORT_ALERT_INTERVAL="60"']);
  const { reporter, messages } = recording();
  const stack = assemble({
    modes: ['stcp'],
    settings,
    ignore: NO_IGNORE,
    reporter,
    dryRun: new DryRun(),
    hosts: { addresses: () => ['192.0.2.1'], guarded: () => [] },
    sensors: () => [],
  });
  const clock = { now: time };
  const sent: OutgoingMail[] = [];
  const alertMail = new AlertMailer({
    settings: () => stack.settings,
    log: reporter,
    path: statePaths(settings.stateDir).alertMail,
    now: () => clock.now,
    host: 'sensor.example.org',
    send: (mail) => Promise.resolve(void sent.push(mail)),
  });
  const conf = join(dir, 'portsentry.conf');
  const daemon = new Daemon(stack, {
    control: false,
    alertMail,
    reload: async () => ({ loaded: await loadSettingsFile(conf), ignore: NO_IGNORE }),
  });
  await daemon.start();
  for (const port of [1, 11, 15]) stack.alerts.onProbe(syn(port, '203.0.113.9'));
  await stack.alerts.settled();
  clock.now += 1000;
  for (const port of [1, 11, 15]) stack.alerts.onProbe(syn(port, '203.0.113.10'));
  await stack.alerts.settled();
  await daemon.manualBlock('192.0.2.77', null);
  await alertMail.close(1000);
  assert.deepEqual(
    sent.map((m) => m.subject),
    ['portsnare alert on sensor.example.org: 203.0.113.9 blocked'],
  );
  assert.match(sent[0]!.text, /^Scan: +TCP SYN\/Normal scan \(mode stcp\)$/m);
  assert.match(sent[0]!.text, /^Backends: +hosts\.deny, route$/m);
  assert.equal(daemon.allCounters()['alertMail.deferred'], 1);
  assert.ok(messages.some((m) => m.kind === 'alertMailDeferred' && m.address === '203.0.113.10'));

  // SIGHUP with REPORT_ALERT_MAIL=0: a block after the interval sends nothing.
  await writeFile(
    conf,
    (await readFile(conf, 'utf8')).replace('REPORT_ALERT_MAIL="1"', 'REPORT_ALERT_MAIL="0"'),
  );
  await daemon.reload();
  clock.now += 120_000;
  for (const port of [1, 11, 15]) stack.alerts.onProbe(syn(port, '203.0.113.11'));
  await stack.alerts.settled();
  assert.equal(stack.bans.keeper?.has('203.0.113.11'), true, 'blocked, only not mailed');
  await daemon.stop();
  assert.equal(sent.length, 1);
  assert.deepEqual(JSON.parse(await readFile(statePaths(settings.stateDir).alertMail, 'utf8')), {
    version: 1,
    lastMailAt: time,
    deferred: 1,
    deferredSince: time + 1000,
  });
});
