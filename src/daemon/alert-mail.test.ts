// The daemon's alert mail with a clock and a sender the test holds (real delivery over SMTP is
// test/e2e/alert-mail.test.ts's): one mail, deferred blocks counted and said once, a failure said once and
// not retried, the stamp kept across a restart, never waiting for a delivery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settingsFromConf, type Settings } from '../config/settings.ts';
import { MailDeliveryError, MailErrorCodes, type OutgoingMail } from '../mail/deliver.ts';
import { formatMessage, type LogMessage } from '../report/messages.ts';
import { makeBan, type Ban } from '../state/ban.ts';
import { AlertMailer, clockTime } from './alert-mail.ts';

const T0 = Date.UTC(2026, 11, 4, 20, 0, 0);
const MIN = 60_000;

function settings(extra: Partial<Settings> = {}): Settings {
  return {
    ...settingsFromConf(null).settings,
    reportAlertMail: true,
    reportAlertInterval: 60,
    reportMailTo: ['admin@example.org'],
    reportMailFrom: 'portsnare@sensor.example.org',
    ...extra,
  };
}

const ban = (address: string, since: number, origin: Ban['origin'] = 'detection'): Ban =>
  makeBan(address, since, null, [1, 11, 143], 'Connect', 'tcp', ['nft'], { origin, evidence: 'handshake' });

interface Harness {
  mailer: AlertMailer;
  sent: OutgoingMail[];
  logged: LogMessage[];
  clock: { now: number };
  path: string;
  dir: string;
}

async function harness(
  t: { after(fn: () => Promise<void>): void },
  opts: {
    settings?: Settings;
    send?: (mail: OutgoingMail) => Promise<unknown>;
    dir?: string;
    now?: number;
  } = {},
): Promise<Harness> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'psn-alert-')));
  if (!opts.dir) t.after(() => rm(dir, { recursive: true, force: true }));
  const sent: OutgoingMail[] = [];
  const logged: LogMessage[] = [];
  const clock = { now: opts.now ?? T0 };
  const current = opts.settings ?? settings();
  const path = join(dir, 'alert-mail.json');
  const mailer = new AlertMailer({
    settings: () => current,
    log: { log: (m) => logged.push(m), close: () => undefined },
    path,
    now: () => clock.now,
    host: 'sensor.example.org',
    send: async (mail) => {
      sent.push(mail);
      if (opts.send) await opts.send(mail);
    },
  });
  await mailer.load();
  return { mailer, sent, logged, clock, path, dir };
}

const texts = (h: Harness) => h.logged.map(formatMessage);

void test('the first block mails at once; the next ones in the interval are deferred, said once; the one after carries their count', async (t) => {
  const h = await harness(t);
  h.mailer.blocked(ban('203.0.113.9', T0));
  // The delivery is under way, not awaited by blocked(): the mail is composed and handed over.
  await h.mailer.close(1000);
  assert.equal(h.sent.length, 1);
  const [first] = h.sent as [OutgoingMail];
  assert.equal(first.subject, 'portsnare alert on sensor.example.org: 203.0.113.9 blocked');
  assert.deepEqual(first.to, ['admin@example.org']);
  assert.equal(first.from, 'portsnare@sensor.example.org');
  assert.match(first.text, /^portsnare on sensor\.example\.org blocked 203\.0\.113\.9\.\n/);
  assert.match(first.text, /^Scan: +Connect \(mode tcp\)$/m);
  assert.match(first.text, /^Ports: +1, 11, 143$/m);
  assert.match(first.text, /^Backends: +nft$/m);
  assert.match(first.text, /^Blocked: +until unblocked$/m);
  assert.ok(!first.text.includes('earlier block'), first.text);
  assert.ok(first.text.includes(`blocks until ${clockTime(T0 + MIN)} are counted in the next alert mail`));
  assert.deepEqual(texts(h), ['adminalert: Alert mail sent to admin@example.org: 203.0.113.9 blocked']);

  for (const [i, address] of ['203.0.113.10', '203.0.113.11', '203.0.113.12'].entries()) {
    h.clock.now = T0 + 1000 * (i + 1);
    h.mailer.blocked(ban(address, h.clock.now));
  }
  await h.mailer.close(1000);
  assert.equal(h.sent.length, 1, 'no second mail within the interval');
  assert.deepEqual(texts(h).slice(1), [
    `adminalert: Alert mail deferred: 203.0.113.10 blocked; at most one alert mail per 60 s, so blocks until ${clockTime(T0 + MIN)} go into the next digest (said once per interval)`,
  ]);
  assert.deepEqual(h.mailer.counters(), {
    'alertMail.sent': 1,
    'alertMail.failed': 0,
    'alertMail.deferred': 3,
  });

  h.clock.now = T0 + MIN + 5;
  h.mailer.blocked(ban('198.51.100.4', h.clock.now));
  await h.mailer.close(1000);
  assert.equal(h.sent.length, 2);
  assert.match(
    h.sent[1]!.text,
    /^3 earlier block\(s\) since .* got no alert mail of their own; they are in the next digest\.$/m,
  );
  assert.equal(
    texts(h).at(-1),
    'adminalert: Alert mail sent to admin@example.org: 198.51.100.4 blocked (and 3 earlier block(s) left to the digest)',
  );
});

void test('blocked() returns at once while a delivery hangs, and a block during it is deferred even past the interval', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const h = await harness(t, { send: () => gate });
  h.mailer.blocked(ban('203.0.113.9', T0));
  h.clock.now = T0 + 2 * MIN;
  const started = performance.now();
  h.mailer.blocked(ban('203.0.113.10', h.clock.now));
  assert.ok(performance.now() - started < 50, 'the hook does not wait for the mail');
  assert.equal(h.sent.length, 1);
  assert.equal(h.mailer.counters()['alertMail.deferred'], 1);
  release();
  await h.mailer.close(1000);
  assert.equal(h.mailer.counters()['alertMail.sent'], 1);
});

void test('a failed delivery is said once and counted, not retried; the next block after the interval tries again', async (t) => {
  let fail = true;
  const h = await harness(t, {
    send: () =>
      fail
        ? Promise.reject(
            new MailDeliveryError(MailErrorCodes.CONNECT, 'cannot connect to 127.0.0.1:1: ECONNREFUSED'),
          )
        : Promise.resolve(),
  });
  h.mailer.blocked(ban('203.0.113.9', T0));
  await h.mailer.close(1000);
  for (let i = 1; i <= 5; i++) {
    h.clock.now = T0 + i * 1000;
    h.mailer.blocked(ban(`203.0.113.${20 + i}`, h.clock.now));
  }
  await h.mailer.close(1000);
  assert.equal(h.sent.length, 1, 'one attempt in the interval');
  const failures = texts(h).filter((l) => l.includes('not sent'));
  assert.equal(failures.length, 1);
  assert.match(
    failures[0]!,
    /^adminalert: ERROR: alert mail about 203\.0\.113\.9 not sent: .*ECONNREFUSED.*; the next one is tried after 60 s, the digest has the blocks$/,
  );
  assert.deepEqual(h.mailer.counters(), {
    'alertMail.sent': 0,
    'alertMail.failed': 1,
    'alertMail.deferred': 5,
  });
  fail = false;
  h.clock.now = T0 + MIN;
  h.mailer.blocked(ban('198.51.100.4', h.clock.now));
  await h.mailer.close(1000);
  assert.equal(h.sent.length, 2);
  // The failed mail's own block and the five deferred ones.
  assert.match(h.sent[1]!.text, /^6 earlier block\(s\) since /m);
});

void test('the stamp survives a restart: a new daemon inside the interval defers, and says the count later', async (t) => {
  const h = await harness(t);
  h.mailer.blocked(ban('203.0.113.9', T0));
  h.clock.now = T0 + 1000;
  h.mailer.blocked(ban('203.0.113.10', h.clock.now));
  await h.mailer.close(1000);
  assert.deepEqual(JSON.parse(await readFile(h.path, 'utf8')), {
    version: 1,
    lastMailAt: T0,
    deferred: 1,
    deferredSince: T0 + 1000,
  });

  const again = await harness(t, { dir: h.dir, now: T0 + 30_000 });
  again.mailer.blocked(ban('203.0.113.11', T0 + 30_000));
  await again.mailer.close(1000);
  assert.equal(again.sent.length, 0, 'the restart did not reset the limit');
  again.clock.now = T0 + MIN;
  again.mailer.blocked(ban('203.0.113.12', T0 + MIN));
  await again.mailer.close(1000);
  assert.equal(again.sent.length, 1);
  assert.match(again.sent[0]!.text, /^2 earlier block\(s\) since /m);
});

void test('a damaged stamp file is said and replaced; manual bans and REPORT_ALERT_MAIL=0 send nothing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-alert-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'alert-mail.json'), 'garbage\n');
  const h = await harness(t, { dir });
  assert.deepEqual(texts(h), [
    `adminalert: WARNING: alert mail state ${join(dir, 'alert-mail.json')}: is not an alert mail state file; starting afresh`,
  ]);
  h.mailer.blocked(ban('192.0.2.77', T0, 'manual'));
  await h.mailer.close(1000);
  assert.equal(h.sent.length, 0, 'a block by hand is the administrator’s own act');
  h.mailer.blocked(ban('203.0.113.9', T0));
  await h.mailer.close(1000);
  assert.equal(h.sent.length, 1, 'the manual ban did not use up the interval');

  const off = await harness(t, { settings: settings({ reportAlertMail: false }) });
  off.mailer.blocked(ban('203.0.113.9', T0));
  await off.mailer.close(1000);
  assert.equal(off.sent.length, 0);
  assert.deepEqual(off.mailer.counters(), {
    'alertMail.sent': 0,
    'alertMail.failed': 0,
    'alertMail.deferred': 0,
  });
});
