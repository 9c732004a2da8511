// End to end, as root, in network namespaces this test creates: the built daemon (nftables backend)
// with REPORT_ALERT_MAIL=1 and REPORT_ALERT_INTERVAL=60 blocks real nmap scans from three lab hosts,
// and a real SMTP server (smtp-server) receives what it mails. The server runs inside the sensor
// namespace, on that namespace's 127.0.0.1, because the daemon runs there (test/helpers/daemon.ts):
// the test's own loopback is another namespace's and unreachable from it. Asserted: exactly one
// alert mail, for the first block and naming its address; the second block within the interval
// sends nothing (a bounded wait shows it) and is logged and counted as deferred; a restart inside
// the interval keeps the limit (the stamp in STATE_DIR), so a third block is deferred too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { simpleParser } from 'mailparser';
import {
  nftSetElements,
  prepareFiles,
  readCounters,
  REPO_ROOT,
  startDaemon,
  type RunningDaemon,
} from '../helpers/daemon.ts';
import { createLab, waitFor, type Lab, type LabProcess } from '../helpers/netns.ts';

const TRAPS = '1,11,143,31337';
/** How long the test watches for a second mail that must not come. */
const QUIET_WATCH_MS = 5000;

/** smtp-server in the sensor namespace; prints "listening PORT", then one JSON line per message. */
function startSmtpInSensor(lab: Lab): LabProcess {
  const script = `
    const { createRequire } = require('node:module');
    const { SMTPServer } = createRequire(process.argv[1])('smtp-server');
    const server = new SMTPServer({
      logger: false,
      authOptional: true,
      disableReverseLookup: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, session, callback) {
        const chunks = [];
        stream.on('data', (d) => chunks.push(d));
        stream.on('end', () => {
          process.stdout.write(JSON.stringify({
            from: session.envelope.mailFrom && session.envelope.mailFrom.address,
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('base64'),
          }) + '\\n');
          callback();
        });
      },
    });
    server.on('error', () => {});
    server.listen(0, '127.0.0.1', () => process.stdout.write('listening ' + server.server.address().port + '\\n'));
  `;
  return lab.spawn(lab.sensor, [process.execPath, '-e', script, join(REPO_ROOT, 'package.json')]);
}

interface Received {
  from: string;
  to: string[];
  raw: string;
}

function received(smtp: LabProcess): Received[] {
  return smtp
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Received);
}

void test('alert mail: one mail for the first nmap scanner blocked, none for the next within REPORT_ALERT_INTERVAL, not even after a restart', async (t) => {
  const lab = await createLab({ extraHosts: 2 });
  t.after(() => lab.destroy());
  const [second, third] = lab.others as [typeof lab.sensor, typeof lab.sensor];
  const smtp = startSmtpInSensor(lab);
  const port = Number(
    (
      await waitFor(() => /^listening (\d+)$/m.exec(smtp.stdout()), {
        timeoutMs: 10_000,
        what: 'the SMTP server in the sensor namespace',
      })
    )[1],
  );
  const files = await prepareFiles({
    TCP_PORTS: TRAPS,
    UDP_PORTS: '9',
    BLOCK_TCP: '1',
    BLOCK_BACKEND: 'nft',
    REPORT_ALERT_MAIL: '1',
    REPORT_ALERT_INTERVAL: '60',
    REPORT_DELIVERY: 'smtp',
    REPORT_SMTP_URL: `smtp://127.0.0.1:${port}`,
    REPORT_SMTP_STARTTLS: 'never',
    REPORT_SMTP_TIMEOUT: '10',
    REPORT_MAIL_TO: 'admin@example.org',
    REPORT_MAIL_FROM: 'portsnare@sensor.example.org',
  });
  let daemon: RunningDaemon = await startDaemon(lab, files, ['-tcp']);
  t.after(() => daemon.cleanup());
  const s1 = lab.scanner.ipv4;
  const s2 = second.ipv4;
  const s3 = third.ipv4;

  // First scanner: blocked, and its alert mail arrives at once.
  await lab.exec(lab.scanner, ['nmap', '-n', '-Pn', '-sT', '-p', TRAPS, lab.sensor.ipv4]);
  await daemon.sink.waitForMessage(`attackalert: Host ${s1} has been blocked via nftables set`);
  await daemon.sink.waitForMessage(`adminalert: Alert mail sent to admin@example.org: ${s1} blocked`, {
    timeoutMs: 10_000,
  });
  const mails = received(smtp);
  assert.equal(mails.length, 1);
  const [mail] = mails as [Received];
  assert.equal(mail.from, 'portsnare@sensor.example.org');
  assert.deepEqual(mail.to, ['admin@example.org']);
  const parsed = await simpleParser(Buffer.from(mail.raw, 'base64'));
  assert.equal(parsed.subject, `portsnare alert on ${hostname()}: ${s1} blocked`);
  assert.equal(parsed.headers.get('auto-submitted'), 'auto-generated');
  const text = parsed.text ?? '';
  assert.match(text, new RegExp(`^Address: +${s1.replace(/\./g, '\\.')}$`, 'm'));
  assert.match(text, /^Scan: +Connect \(mode tcp\)$/m);
  assert.match(text, /^Backends: +nft$/m);
  assert.match(text, /^Ports: +\d+(, \d+)*$/m);
  assert.match(text, /At most one alert mail goes out per 60 s/);

  // Second scanner within the interval: blocked, logged as deferred, and no mail.
  await lab.exec(second, ['nmap', '-n', '-Pn', '-sT', '-p', TRAPS, lab.sensor.ipv4]);
  await daemon.sink.waitForMessage(`attackalert: Host ${s2} has been blocked via nftables set`);
  await daemon.sink.waitForMessage(
    new RegExp(
      `^adminalert: Alert mail deferred: ${s2.replace(/\./g, '\\.')} blocked; at most one alert mail per 60 s, so blocks until \\d\\d:\\d\\d:\\d\\d go into the next digest`,
    ),
  );
  assert.deepEqual((await nftSetElements(lab, 'blocked4')).sort(), [s1, s2].sort());
  await delay(QUIET_WATCH_MS);
  assert.equal(received(smtp).length, 1, 'no second mail within the interval');
  const counters = await readCounters(daemon);
  assert.equal(counters['alertMail.sent'], 1);
  assert.equal(counters['alertMail.deferred'], 1);
  assert.equal(counters['alertMail.failed'], 0);
  assert.equal(counters['blocks'], 2);

  // A restart inside the interval: the stamp in STATE_DIR keeps the limit.
  const stopped = await daemon.stop();
  assert.equal(stopped.code, 0, daemon.process.stderr());
  await daemon.sink.close();
  const stamp = JSON.parse(await readFile(join(files.stateDir, 'alert-mail.json'), 'utf8')) as {
    version: number;
    lastMailAt: number;
    deferred: number;
  };
  assert.equal(stamp.version, 1);
  assert.equal(stamp.deferred, 1);
  assert.ok(Date.now() - stamp.lastMailAt < 60_000, 'the stamp is the first mail, within the interval');
  daemon = await startDaemon(lab, files, ['-tcp']);
  await lab.exec(third, ['nmap', '-n', '-Pn', '-sT', '-p', TRAPS, lab.sensor.ipv4]);
  await daemon.sink.waitForMessage(`attackalert: Host ${s3} has been blocked via nftables set`);
  await waitFor(async () => (await readCounters(daemon))['alertMail.deferred'] === 1, {
    timeoutMs: 5000,
    what: 'the third block counted as deferred',
  });
  await delay(1000);
  assert.equal(received(smtp).length, 1, 'the restart did not reset the limit');
  assert.ok(
    !daemon.sink.messages().some((m) => m.startsWith('adminalert: Alert mail sent')),
    daemon.sink.messages().join('\n'),
  );
});
