// The daemon's alert mail through its real transport (transportOf + deliverMail, no injected
// sender) to an smtp-server on loopback: the message that arrives is parsed back; a server that
// refuses connections is one failure line and one counted failure, and the blocks that follow in the
// interval make no second attempt.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { settingsFromConf, type Settings } from '../../src/config/settings.ts';
import { AlertMailer } from '../../src/daemon/alert-mail.ts';
import { formatMessage } from '../../src/report/messages.ts';
import { makeBan } from '../../src/state/ban.ts';
import { closedPort, parse, startSmtpServer } from '../helpers/smtp.ts';

const T0 = Date.UTC(2026, 11, 4, 20, 0, 0);

function settings(url: string): Settings {
  return {
    ...settingsFromConf(null).settings,
    reportAlertMail: true,
    reportAlertInterval: 60,
    reportMailTo: ['admin@example.org', 'ops@example.org'],
    reportMailFrom: 'portsnare@sensor.example.org',
    reportDelivery: 'smtp',
    reportSmtpUrl: url,
    reportSmtpStarttls: 'never',
    reportSmtpTimeout: 5,
  };
}

const ban = (address: string, since: number) =>
  makeBan(address, since, null, [1, 143], 'TCP SYN/Normal scan', 'stcp', ['nft'], {
    origin: 'detection',
    evidence: 'packet',
  });

async function mailer(t: { after(fn: () => Promise<void>): void }, url: string, clock: { now: number }) {
  const dir = await mkdtemp(join(tmpdir(), 'psn-alert-smtp-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const current = settings(url);
  const m = new AlertMailer({
    settings: () => current,
    log: { log: (message) => lines.push(formatMessage(message)), close: () => undefined },
    path: join(dir, 'alert-mail.json'),
    now: () => clock.now,
    host: 'sensor.example.org',
  });
  await m.load();
  return { m, lines };
}

void test('the alert mail arrives over SMTP: envelope, subject, plain-text body, Auto-Submitted', async (t) => {
  const server = await startSmtpServer();
  t.after(() => server.close());
  const clock = { now: T0 };
  const { m, lines } = await mailer(t, server.url, clock);
  m.blocked(ban('203.0.113.9', T0));
  await m.close(10_000);
  assert.equal(server.received.length, 1);
  const [got] = server.received as [(typeof server.received)[number]];
  assert.equal(got.from, 'portsnare@sensor.example.org');
  assert.deepEqual(got.to, ['admin@example.org', 'ops@example.org']);
  const parsed = await parse(got);
  assert.equal(parsed.subject, 'portsnare alert on sensor.example.org: 203.0.113.9 blocked');
  assert.equal(parsed.headers.get('auto-submitted'), 'auto-generated');
  assert.equal(parsed.html, false, 'plain text only');
  assert.match(parsed.text ?? '', /^Scan: +TCP SYN\/Normal scan \(mode stcp\)$/m);
  assert.match(parsed.text ?? '', /^Ports: +1, 143$/m);
  assert.deepEqual(lines, [
    'adminalert: Alert mail sent to admin@example.org, ops@example.org: 203.0.113.9 blocked',
  ]);
});

void test('a refused connection: one failure line, counted, and no retry for the blocks in the interval', async (t) => {
  const port = await closedPort();
  const clock = { now: T0 };
  const { m, lines } = await mailer(t, `smtp://127.0.0.1:${port}`, clock);
  m.blocked(ban('203.0.113.9', T0));
  await m.close(10_000);
  for (let i = 1; i <= 20; i++) {
    clock.now = T0 + i * 1000;
    m.blocked(ban(`198.51.100.${i}`, clock.now));
  }
  await m.close(10_000);
  const failures = lines.filter((l) => l.startsWith('adminalert: ERROR: alert mail'));
  assert.equal(failures.length, 1, lines.join('\n'));
  assert.match(
    failures[0]!,
    /^adminalert: ERROR: alert mail about 203\.0\.113\.9 not sent: .+; the next one is tried after 60 s/,
  );
  assert.deepEqual(m.counters(), { 'alertMail.sent': 0, 'alertMail.failed': 1, 'alertMail.deferred': 20 });
  assert.deepEqual(m.state, { lastMailAt: T0, deferred: 21, deferredSince: T0 });
});
