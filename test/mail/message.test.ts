// The RFC 5322 form of an outgoing mail: line ends, headers, the MIME structure for text, text+HTML
// and attachments, and that what is built parses back to what was given.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { buildMime, composeMail, newMessageId, type OutgoingMail } from '../../src/mail/message.ts';
import { hasMailCode, MailErrorCodes } from '../../src/mail/errors.ts';

const mail: OutgoingMail = {
  from: 'portsnare@host.example',
  to: ['root@host.example'],
  subject: 'Ünïcode subject',
  text: `${'x'.repeat(100)}\nsecond line with trailing blank \n.\n`,
};

describe('buildMime', () => {
  test('CRLF throughout, the standard headers, no X-Mailer', async () => {
    const raw = (await buildMime(mail)).toString('latin1');
    assert.doesNotMatch(raw, /[^\r]\n/);
    const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
    for (const h of [
      'From: portsnare@host.example',
      'To: root@host.example',
      'Auto-Submitted: auto-generated',
    ])
      assert.ok(head.split('\r\n').includes(h), `${h} in\n${head}`);
    assert.match(head, /^Subject: =\?UTF-8\?/m);
    assert.match(head, /^Message-ID: <[^>]+@host\.example>$/m);
    assert.match(head, /^Date: /m);
    assert.match(head, /^MIME-Version: 1\.0$/m);
    assert.doesNotMatch(head, /X-Mailer/i);
    // No encoded line is longer than RFC 5322's 78 (the 100-x line is quoted-printable).
    assert.ok(raw.split('\r\n').every((l) => l.length <= 78));
    const parsed = await simpleParser(raw);
    assert.equal(parsed.subject, mail.subject);
    assert.equal(parsed.text, mail.text);
  });

  test('LF variant for sendmail, with a pinned Message-ID and Date', async () => {
    const { messageId, raw } = await composeMail(mail, {
      newline: 'lf',
      messageId: '<fixed.1@host.example>',
      date: new Date('2026-12-04T19:00:00Z'),
    });
    assert.equal(messageId, '<fixed.1@host.example>');
    const s = raw.toString('latin1');
    assert.doesNotMatch(s, /\r/);
    assert.match(s, /^Message-ID: <fixed\.1@host\.example>$/m);
    assert.match(s, /^Date: Fri, 04 Dec 2026 19:00:00 \+0000$/m);
  });

  test('html makes multipart/alternative; attachments multipart/mixed', async () => {
    const alt = (await buildMime({ ...mail, html: '<b>x</b>' })).toString('latin1');
    assert.match(alt, /^Content-Type: multipart\/alternative;/m);
    assert.doesNotMatch(alt, /multipart\/mixed/);
    const mixed = (
      await buildMime({
        ...mail,
        attachments: [
          {
            filename: 'a.bin',
            content: Buffer.from([0, 1, 2, 255]),
            contentType: 'application/octet-stream',
          },
        ],
      })
    ).toString('latin1');
    assert.match(mixed, /^Content-Type: multipart\/mixed;/m);
    assert.match(mixed, /Content-Disposition: attachment; filename=a\.bin/);
    const parsed = await simpleParser(mixed);
    assert.deepEqual([...parsed.attachments[0]!.content], [0, 1, 2, 255]);
  });

  test('bad addresses are refused, not built', async () => {
    await assert.rejects(buildMime({ ...mail, to: ['root@host.example', 'a,b@x'] }), (e: unknown) => {
      assert.ok(hasMailCode(e, MailErrorCodes.INVALID));
      assert.match(e.message, /recipient a,b@x: local part is not a dot-atom/);
      return true;
    });
  });

  test('extra headers: no line breaks, no field names of their own, not the fields the mail sets', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ 'X-Run': '1\r\nBcc: victim@x.example' }, /X-Run: value holds a line break/],
      [{ 'X-Run': 'a\nb' }, /line break/],
      [{ 'X Run': '1' }, /name "X Run" is not a field name/],
      [{ 'X:Run': '1' }, /not a field name/],
      [{ Subject: 'other' }, /Subject comes from the mail itself/],
      [{ 'content-type': 'text/html' }, /content-type comes from the mail itself/],
      [{ BCC: 'x@y.example' }, /BCC comes from the mail itself/],
    ];
    for (const [headers, why] of cases) {
      await assert.rejects(buildMime({ ...mail, headers }), (e: unknown) => {
        assert.ok(hasMailCode(e, MailErrorCodes.INVALID), String(e));
        assert.match(e.message, why);
        return true;
      });
    }
    const ok = (
      await buildMime({ ...mail, headers: { 'X-Portsnare-Host': 'h1', Precedence: 'bulk' } })
    ).toString();
    assert.match(ok, /^X-Portsnare-Host: h1\r$/m);
    assert.match(ok, /^Precedence: bulk\r$/m);
  });

  test('Message-IDs are unique and at the sender domain', () => {
    const a = newMessageId('p@host.example');
    assert.notEqual(a, newMessageId('p@host.example'));
    assert.match(a, /^<[a-z0-9.]+\.portsnare@host\.example>$/);
    assert.match(newMessageId('root'), /@localhost>$/);
  });
});
