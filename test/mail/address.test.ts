// The pure parts of mail delivery: address lists as the config gives them, the sendmail argv,
// the SMTP URL and options, and the nodemailer-error-to-code mapping.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressProblem, parseAddressList } from '../../src/mail/address.ts';
import { hasMailCode, MailDeliveryError, MailErrorCodes } from '../../src/mail/errors.ts';
import { sendmailArgv } from '../../src/mail/sendmail.ts';
import { parseSmtpUrl, smtpError, smtpOptions } from '../../src/mail/smtp.ts';
import { PortsnareError } from '../../src/errors.ts';

describe('parseAddressList', () => {
  test('commas and blanks separate; order kept, duplicates dropped', () => {
    assert.deepEqual(
      parseAddressList('root@host.example, ops@host.example\tsec+ids@x.org,,root@host.example'),
      ['root@host.example', 'ops@host.example', 'sec+ids@x.org'],
    );
    assert.deepEqual(parseAddressList('  logcheck  '), ['logcheck']);
    assert.deepEqual(parseAddressList("o'brien.j@mail-1.example.co.uk"), ["o'brien.j@mail-1.example.co.uk"]);
  });

  test('each address is checked, and the error names it', () => {
    const cases: [string, RegExp][] = [
      ['', /no address given/],
      [' , ', /no address given/],
      ['-oQ/tmp', /-oQ\/tmp: must not start with "-"/],
      ['root@', /root@: no domain/],
      ['@host.example', /no local part/],
      ['a..b@host.example', /local part is not a dot-atom/],
      ['.a@host.example', /local part is not a dot-atom/],
      ['"quoted"@host.example', /local part is not a dot-atom/],
      ['<root@host.example>', /local part is not a dot-atom/],
      ['root@-host.example', /"-host" is not a host name label/],
      ['root@host..example', /"" is not a host name label/],
      ['root@host_1.example', /"host_1" is not a host name label/],
      ['root@höst.example', /printable ASCII/],
      ['ok@host.example, bad@', /bad@: no domain/],
      [`${'a'.repeat(65)}@host.example`, /local part longer than 64/],
      [
        `a@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(63)}.example`,
        /longer than 254/,
      ],
    ];
    for (const [text, why] of cases) {
      const r = parseAddressList(text);
      assert.ok(!Array.isArray(r), `${text} accepted`);
      assert.match(r.error, why, text);
    }
  });

  test('requireDomain refuses a bare local name', () => {
    assert.deepEqual(parseAddressList('root', { requireDomain: true }), { error: 'root: no "@domain"' });
    assert.equal(addressProblem('root'), null);
    assert.equal(addressProblem('root@localhost', { requireDomain: true }), null);
  });
});

describe('sendmailArgv', () => {
  test('extra args, then -oi -f FROM --, then the recipients', () => {
    assert.deepEqual(sendmailArgv('portsnare@h.example', ['a@h.example', 'b@h.example'], ['-C', '/etc/rc']), [
      '-C',
      '/etc/rc',
      '-oi',
      '-f',
      'portsnare@h.example',
      '--',
      'a@h.example',
      'b@h.example',
    ]);
    assert.deepEqual(sendmailArgv('p@h', ['root']), ['-oi', '-f', 'p@h', '--', 'root']);
  });
});

describe('SMTP URL and options', () => {
  test('default ports: 25 for smtp, 465 for smtps; IPv6 brackets dropped', () => {
    assert.deepEqual(parseSmtpUrl('smtp://mail.example'), { host: 'mail.example', port: 25, secure: false });
    assert.deepEqual(parseSmtpUrl('smtps://mail.example'), { host: 'mail.example', port: 465, secure: true });
    assert.deepEqual(parseSmtpUrl('smtp://[::1]:2525'), { host: '::1', port: 2525, secure: false });
  });

  test('STARTTLS policy, timeouts, auth and TLS options', () => {
    const base = { kind: 'smtp', url: 'smtp://127.0.0.1:587', timeoutMs: 1234 } as const;
    const req = smtpOptions({ ...base, starttls: 'require', user: 'u', password: 'p', tls: { ca: 'PEM' } });
    assert.equal(req.requireTLS, true);
    assert.equal(req.ignoreTLS, false);
    assert.deepEqual(req.auth, { user: 'u', pass: 'p' });
    assert.deepEqual(req.tls, { ca: 'PEM' });
    assert.equal(req.connectionTimeout, 1234);
    assert.equal(req.greetingTimeout, 1234);
    assert.equal(req.socketTimeout, 1234);
    const never = smtpOptions({ ...base, starttls: 'never' });
    assert.equal(never.ignoreTLS, true);
    assert.equal(never.auth, undefined);
    assert.equal(smtpOptions({ ...base, starttls: 'opportunistic' }).opportunisticTLS, true);
    // smtps: TLS from the start, no STARTTLS flags.
    const implicit = smtpOptions({ ...base, url: 'smtps://127.0.0.1', starttls: 'require' });
    assert.equal(implicit.secure, true);
    assert.equal(implicit.requireTLS, false);
    assert.throws(
      () => smtpOptions({ ...base, starttls: 'never', user: 'u' }),
      (e: unknown) => hasMailCode(e, MailErrorCodes.INVALID),
    );
    assert.throws(
      () => smtpOptions({ ...base, starttls: 'never', timeoutMs: 0 }),
      (e: unknown) => hasMailCode(e, MailErrorCodes.INVALID),
    );
  });

  test('nodemailer codes map to mail codes', () => {
    const cases: [object, string][] = [
      [{ code: 'ETIMEDOUT', command: 'CONN' }, MailErrorCodes.TIMEOUT],
      [{ code: 'ETLS', command: 'STARTTLS' }, MailErrorCodes.TLS],
      [{ code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, MailErrorCodes.TLS],
      [{ code: 'ESOCKET', originalCode: 'ECONNREFUSED' }, MailErrorCodes.CONNECT],
      [{ code: 'EDNS' }, MailErrorCodes.CONNECT],
      [{ code: 'ECONNECTION', command: 'CONN' }, MailErrorCodes.CONNECT],
      [{ code: 'ECONNECTION', command: 'DATA' }, MailErrorCodes.PROTOCOL],
      [{ code: 'EAUTH', responseCode: 535 }, MailErrorCodes.AUTH],
      [{ code: 'EENVELOPE', responseCode: 530 }, MailErrorCodes.AUTH],
      [{ code: 'EENVELOPE', responseCode: 550 }, MailErrorCodes.REJECTED],
      [{ code: 'EMESSAGE', responseCode: 552 }, MailErrorCodes.REJECTED],
      [{ code: 'EPROTOCOL' }, MailErrorCodes.PROTOCOL],
      [{}, MailErrorCodes.PROTOCOL],
    ];
    for (const [err, code] of cases) {
      const e = smtpError(Object.assign(new Error('x'), err), 'h:25');
      assert.equal(e.mailCode, code, JSON.stringify(err));
      assert.equal(e.code, code);
    }
  });

  test('a MailDeliveryError is a PortsnareError with the mail code', () => {
    const e = new MailDeliveryError(MailErrorCodes.REJECTED, 'no', { refused: ['a@b.example'] });
    assert.ok(e instanceof PortsnareError);
    assert.equal(e.code, 'PSN_ERR_MAIL_REJECTED');
    assert.equal(e.name, 'MailDeliveryError');
    assert.deepEqual(e.refused, ['a@b.example']);
  });
});
