// deliverMail over SMTP to a real smtp-server on loopback: the message parsed back (text, HTML,
// gzip attachment, headers), and each way a delivery fails mapped to its code.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { deliverMail, hasMailCode, MailErrorCodes, type OutgoingMail } from '../../src/mail/deliver.ts';
import {
  closedPort,
  parse,
  startSilentServer,
  startSmtpServer,
  type TestSmtpServer,
} from '../helpers/smtp.ts';

const RAW_LINES = 'Dec  4 19:00:01 host kernel: [UFW BLOCK] IN=eth0 SRC=203.0.113.9 DPT=23\n'.repeat(50);

const digest: OutgoingMail = {
  from: 'portsnare@host.example',
  to: ['root@host.example', 'ops@host.example'],
  subject: 'host.example 2026-12-04 19:00 portsnare digest — 3 attackers',
  text: 'Attackers\n=========\n\n203.0.113.9   23/tcp   12 probes\n',
  html: '<h1>Attackers</h1><table><tr><td>203.0.113.9</td><td>23/tcp</td></tr></table>',
  attachments: [{ filename: 'lines.log.gz', content: gzipSync(RAW_LINES), contentType: 'application/gzip' }],
};

const smtp = (url: string, extra: object = {}) =>
  ({ kind: 'smtp', url, starttls: 'opportunistic', timeoutMs: 3000, ...extra }) as const;

describe('deliverMail over SMTP', () => {
  let server: TestSmtpServer;
  before(async () => {
    server = await startSmtpServer({
      // No STARTTLS offered: opportunistic goes on in plaintext.
      disabledCommands: ['STARTTLS'],
      onRcptTo(address, _session, callback) {
        if (address.address.startsWith('nobody@')) {
          const err = Object.assign(new Error(`<${address.address}>: no such user here`), {
            responseCode: 550,
          });
          callback(err);
          return;
        }
        callback();
      },
    });
  });
  after(() => server.close());

  test('text, HTML and a gzip attachment arrive and parse back', async () => {
    const before = server.received.length;
    const res = await deliverMail(digest, smtp(server.url));
    assert.deepEqual(res.accepted, ['root@host.example', 'ops@host.example']);
    assert.match(res.messageId, /^<[^<>@\s]+@host\.example>$/);
    assert.equal(server.received.length, before + 1);
    const got = server.received.at(-1)!;
    assert.equal(got.from, 'portsnare@host.example');
    assert.deepEqual(got.to, ['root@host.example', 'ops@host.example']);
    assert.equal(got.secure, false);
    const mail = await parse(got);
    assert.equal(mail.subject, digest.subject);
    assert.equal(mail.messageId, res.messageId);
    assert.equal(mail.from?.text, 'portsnare@host.example');
    const to = Array.isArray(mail.to) ? mail.to : [mail.to];
    assert.deepEqual(
      to.flatMap((a) => a?.value.map((v) => v.address)),
      ['root@host.example', 'ops@host.example'],
    );
    assert.equal(mail.text, digest.text);
    assert.equal(mail.html, digest.html);
    assert.equal(mail.headers.get('auto-submitted'), 'auto-generated');
    assert.equal(mail.attachments.length, 1);
    const att = mail.attachments[0]!;
    assert.equal(att.filename, 'lines.log.gz');
    assert.equal(att.contentType, 'application/gzip');
    assert.equal(gunzipSync(att.content).toString('utf8'), RAW_LINES);
    // multipart/mixed around multipart/alternative (text first, then HTML), on the wire.
    const raw = got.raw.toString('latin1');
    assert.match(raw, /^Content-Type: multipart\/mixed;/m);
    assert.match(raw, /Content-Type: multipart\/alternative;[^]*text\/plain[^]*text\/html/);
  });

  test('a text-only mail is a single text/plain part; a given Auto-Submitted replaces the default', async () => {
    await deliverMail(
      {
        from: 'portsnare@host.example',
        to: ['root@host.example'],
        subject: 'plain',
        text: 'only text\n',
        headers: { 'auto-submitted': 'auto-replied', 'X-Portsnare-Run': '42' },
      },
      smtp(server.url),
    );
    const got = server.received.at(-1)!;
    const raw = got.raw.toString('latin1');
    assert.doesNotMatch(raw, /multipart/);
    assert.equal(raw.match(/^auto-submitted:/gim)?.length, 1);
    const mail = await parse(got);
    assert.equal(mail.text, 'only text\n');
    assert.equal(mail.html, false);
    assert.equal(mail.headers.get('auto-submitted'), 'auto-replied');
    assert.equal(mail.headers.get('x-portsnare-run'), '42');
  });

  test('one refused recipient fails the delivery, naming it with the server reply', async () => {
    const err = await deliverMail(
      { ...digest, to: ['root@host.example', 'nobody@host.example'] },
      smtp(server.url),
    ).then(
      () => assert.fail('delivered'),
      (e: unknown) => e,
    );
    assert.ok(hasMailCode(err, MailErrorCodes.REJECTED), String(err));
    assert.equal(err.code, 'PSN_ERR_MAIL_REJECTED');
    assert.deepEqual(err.refused, ['nobody@host.example']);
    // nodemailer goes on to DATA once one RCPT is accepted: the error tells who got it.
    assert.deepEqual(err.accepted, ['root@host.example']);
    assert.match(err.message, /nobody@host\.example: 550 .*no such user here/);
    assert.equal(err.responseCode, 550);
    assert.match(err.reply ?? '', /^550 .*<nobody@host\.example>: no such user here$/);
    assert.equal(err.command, 'RCPT TO');
  });

  test('every recipient refused: rejected, with the 550 reply', async () => {
    const count = server.received.length;
    const err = await deliverMail({ ...digest, to: ['nobody@host.example'] }, smtp(server.url)).then(
      () => assert.fail('delivered'),
      (e: unknown) => e,
    );
    assert.ok(hasMailCode(err, MailErrorCodes.REJECTED), String(err));
    assert.equal(err.responseCode, 550);
    assert.deepEqual(err.refused, ['nobody@host.example']);
    assert.match(err.message, /nobody@host\.example/);
    assert.equal(server.received.length, count);
  });

  test('a message refused after DATA is rejected, with the reply', async () => {
    const refusing = await startSmtpServer(
      { disabledCommands: ['STARTTLS'] },
      { responseCode: 552, message: 'message exceeds fixed maximum message size' },
    );
    try {
      const err = await deliverMail(digest, smtp(refusing.url)).then(
        () => assert.fail('delivered'),
        (e: unknown) => e,
      );
      assert.ok(hasMailCode(err, MailErrorCodes.REJECTED), String(err));
      assert.equal(err.responseCode, 552);
      assert.match(err.reply ?? '', /^552 .*exceeds fixed maximum message size/);
      assert.equal(refusing.received.length, 0);
    } finally {
      await refusing.close();
    }
  });

  test('a closed port is a connect error', async () => {
    const port = await closedPort();
    const err = await deliverMail(digest, smtp(`smtp://127.0.0.1:${port}`)).then(
      () => assert.fail('delivered'),
      (e: unknown) => e,
    );
    assert.ok(hasMailCode(err, MailErrorCodes.CONNECT), String(err));
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}.*ECONNREFUSED|refused`, 'i'));
  });

  test('a server that never greets is a timeout, within timeoutMs', async () => {
    const silent = await startSilentServer();
    try {
      const started = performance.now();
      const err = await deliverMail(digest, smtp(`smtp://127.0.0.1:${silent.port}`, { timeoutMs: 500 })).then(
        () => assert.fail('delivered'),
        (e: unknown) => e,
      );
      const elapsed = performance.now() - started;
      assert.ok(hasMailCode(err, MailErrorCodes.TIMEOUT), String(err));
      assert.ok(elapsed >= 450 && elapsed < 1500, `took ${elapsed.toFixed(0)} ms`);
    } finally {
      await silent.close();
    }
  });

  test('bad input is refused before connecting', async () => {
    const cases: [OutgoingMail, string][] = [
      [{ ...digest, to: [] }, 'no recipient'],
      [{ ...digest, to: ['-oQ/tmp/x@host.example'] }, 'must not start with "-"'],
      [{ ...digest, from: 'a b@host.example' }, 'printable ASCII'],
    ];
    for (const [mail, why] of cases) {
      await assert.rejects(deliverMail(mail, smtp(server.url)), (e: unknown) => {
        assert.ok(hasMailCode(e, MailErrorCodes.INVALID), String(e));
        assert.ok(e.message.includes(why), e.message);
        return true;
      });
    }
    for (const url of ['http://127.0.0.1:25', 'smtp://user:pw@127.0.0.1', 'not a url', 'smtp://h/x']) {
      await assert.rejects(deliverMail(digest, smtp(url)), (e: unknown) =>
        hasMailCode(e, MailErrorCodes.INVALID),
      );
    }
  });
});
