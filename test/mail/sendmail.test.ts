// deliverMail through a real sendmail: Debian's msmtp (msmtp-mta) relaying to an smtp-server on
// loopback, configured by an rc file given with the transport's `args` (-C). The message that
// arrives is parsed back; a failing msmtp (nothing listens) is a MAIL_SENDMAIL error with its
// exit status and stderr, and so are a program that cannot run and one killed by a signal.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { deliverMail, hasMailCode, MailErrorCodes, type OutgoingMail } from '../../src/mail/deliver.ts';
import { closedPort, parse, startSmtpServer, type TestSmtpServer } from '../helpers/smtp.ts';

const MSMTP = '/usr/bin/msmtp';
const RAW = 'Dec  4 19:00:01 host portsentry[812]: attackalert: SYN/Normal scan from host: 198.51.100.7\n';

const digest: OutgoingMail = {
  from: 'portsnare@host.example',
  to: ['root@host.example', 'ops@host.example'],
  subject: 'portsnare digest via sendmail',
  // A line of a single dot must survive (-oi), and a "From " line.
  text: 'Attackers\n.\nFrom here on: 198.51.100.7\n',
  html: '<p>198.51.100.7</p>',
  attachments: [{ filename: 'lines.log.gz', content: gzipSync(RAW), contentType: 'application/gzip' }],
};

/** An msmtp rc file (mode 0600, msmtp refuses others) for one account relaying to 127.0.0.1:port. */
function msmtprc(dir: string, name: string, port: number): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    [
      'defaults',
      'syslog off',
      'account default',
      'host 127.0.0.1',
      `port ${port}`,
      'auth off',
      'tls off',
      'timeout 5',
      'from portsnare@host.example',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  chmodSync(file, 0o600);
  return file;
}

describe('deliverMail through sendmail (msmtp)', () => {
  let server: TestSmtpServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portsnare-msmtp-'));
    server = await startSmtpServer({ disabledCommands: ['STARTTLS'] });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('msmtp relays the message; it parses back whole', async () => {
    const rc = msmtprc(dir, 'ok.rc', server.port);
    const res = await deliverMail(digest, { kind: 'sendmail', path: MSMTP, args: ['-C', rc] });
    assert.deepEqual(res.accepted, ['root@host.example', 'ops@host.example']);
    const got = server.received.at(-1)!;
    // -f set the envelope sender, the recipients came from argv.
    assert.equal(got.from, 'portsnare@host.example');
    assert.deepEqual(got.to, ['root@host.example', 'ops@host.example']);
    const mail = await parse(got);
    assert.equal(mail.subject, digest.subject);
    assert.equal(mail.messageId, res.messageId);
    assert.equal(mail.text, digest.text);
    assert.equal(mail.html, digest.html);
    assert.equal(mail.headers.get('auto-submitted'), 'auto-generated');
    assert.equal(mail.attachments.length, 1);
    assert.equal(mail.attachments[0]!.filename, 'lines.log.gz');
    assert.equal(gunzipSync(mail.attachments[0]!.content).toString('utf8'), RAW);
    // The LF message went out as CRLF, with no doubled CR.
    assert.doesNotMatch(got.raw.toString('latin1'), /\r\r|[^\r]\n/);
  });

  test('msmtp failing (nothing listens): MAIL_SENDMAIL with its exit status and stderr', async () => {
    const rc = msmtprc(dir, 'down.rc', await closedPort());
    const err = await deliverMail(digest, { kind: 'sendmail', path: MSMTP, args: ['-C', rc] }).then(
      () => assert.fail('delivered'),
      (e: unknown) => e,
    );
    assert.ok(hasMailCode(err, MailErrorCodes.SENDMAIL), String(err));
    // msmtp exits EX_UNAVAILABLE (69) or EX_TEMPFAIL (75) when it cannot reach the server.
    assert.ok(err.exitCode === 69 || err.exitCode === 75, `exit ${String(err.exitCode)}`);
    assert.match(err.stderr ?? '', /msmtp: cannot connect to 127\.0\.0\.1, port \d+: Connection refused/);
    assert.match(err.message, /\/usr\/bin\/msmtp exited with status \d+: msmtp: cannot connect/);
  });

  test('msmtp refusing its rc file is an error carrying its complaint', async () => {
    const count = server.received.length;
    const rc = join(dir, 'bad.rc');
    writeFileSync(rc, `account default\nhost 127.0.0.1\nport ${server.port}\nno_such_command on\n`, {
      mode: 0o600,
    });
    const err = await deliverMail(digest, { kind: 'sendmail', path: MSMTP, args: ['-C', rc] }).then(
      () => assert.fail('delivered'),
      (e: unknown) => e,
    );
    assert.ok(hasMailCode(err, MailErrorCodes.SENDMAIL), String(err));
    assert.ok(err.exitCode !== null && err.exitCode !== 0, `exit ${String(err.exitCode)}`);
    assert.match(err.stderr ?? '', /bad\.rc: line 4: unknown command no_such_command/);
    assert.equal(server.received.length, count);
  });

  test('a program that cannot run, and one killed by a signal', async () => {
    const missing = join(dir, 'no-such-sendmail');
    await assert.rejects(deliverMail(digest, { kind: 'sendmail', path: missing }), (e: unknown) => {
      assert.ok(hasMailCode(e, MailErrorCodes.SENDMAIL), String(e));
      assert.equal(e.exitCode, null);
      assert.match(e.message, /cannot run .*no-such-sendmail: spawn .* ENOENT/);
      return true;
    });
    // /bin/sh as "sendmail": -c kills itself; what follows ($0, -oi, -f...) is just its arguments.
    await assert.rejects(
      deliverMail(digest, { kind: 'sendmail', path: '/bin/sh', args: ['-c', 'kill -TERM $$'] }),
      (e: unknown) => {
        assert.ok(hasMailCode(e, MailErrorCodes.SENDMAIL), String(e));
        assert.equal(e.signal, 'SIGTERM');
        assert.match(e.message, /was killed by SIGTERM/);
        return true;
      },
    );
  });

  test('a program that exits 0 without reading the message is not a delivery', async () => {
    // More than a pipe buffer, so the write fails once `true` is gone.
    const big: OutgoingMail = {
      ...digest,
      attachments: [
        { filename: 'big.bin', content: Buffer.alloc(1 << 20, 7), contentType: 'application/octet-stream' },
      ],
    };
    await assert.rejects(deliverMail(big, { kind: 'sendmail', path: '/bin/true' }), (e: unknown) => {
      assert.ok(hasMailCode(e, MailErrorCodes.SENDMAIL), String(e));
      assert.equal(e.exitCode, 0);
      assert.match(e.message, /\/bin\/true exited 0 without reading the whole message \(.*EPIPE/);
      return true;
    });
  });

  test('a sendmail that hangs is killed after timeoutMs', async () => {
    const started = performance.now();
    await assert.rejects(
      deliverMail(digest, {
        kind: 'sendmail',
        path: '/bin/sh',
        args: ['-c', 'exec sleep 30'],
        timeoutMs: 300,
      }),
      (e: unknown) => {
        assert.ok(hasMailCode(e, MailErrorCodes.SENDMAIL), String(e));
        assert.match(e.message, /did not finish within 300 ms/);
        return true;
      },
    );
    assert.ok(performance.now() - started < 2000);
  });
});
