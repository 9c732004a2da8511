// STARTTLS and authentication against a real smtp-server with a certificate made in the test:
// `require` with the CA delivers over TLS, `require` against a server without STARTTLS fails with
// the TLS code, an unknown certificate fails, and a wrong password is an auth error.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deliverMail, hasMailCode, MailErrorCodes, type OutgoingMail } from '../../src/mail/deliver.ts';
import type { SmtpTransport } from '../../src/mail/smtp.ts';
import { parse, selfSignedCert, startSmtpServer, type TestSmtpServer } from '../helpers/smtp.ts';

const mail: OutgoingMail = {
  from: 'portsnare@host.example',
  to: ['root@host.example'],
  subject: 'over TLS',
  text: 'secret digest\n',
};

const failure = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => assert.fail('delivered'),
    (e: unknown) => e,
  );

describe('deliverMail with STARTTLS and AUTH', () => {
  let pem: { key: string; cert: string };
  let tlsServer: TestSmtpServer;
  let plainServer: TestSmtpServer;
  let authServer: TestSmtpServer;
  let implicitServer: TestSmtpServer;
  before(async () => {
    pem = selfSignedCert();
    implicitServer = await startSmtpServer({ secure: true, key: pem.key, cert: pem.cert });
    tlsServer = await startSmtpServer({ key: pem.key, cert: pem.cert });
    plainServer = await startSmtpServer({ disabledCommands: ['STARTTLS'] });
    authServer = await startSmtpServer({
      key: pem.key,
      cert: pem.cert,
      authOptional: false,
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth(auth, _session, callback) {
        if (auth.username === 'portsnare' && auth.password === 'right horse battery') {
          callback(null, { user: auth.username });
          return;
        }
        callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
    });
  });
  after(async () => {
    await Promise.all([implicitServer.close(), tlsServer.close(), plainServer.close(), authServer.close()]);
  });

  const tls = (url: string, extra: Partial<SmtpTransport> = {}): SmtpTransport => ({
    kind: 'smtp',
    url,
    starttls: 'require',
    timeoutMs: 3000,
    tls: { ca: pem.cert },
    ...extra,
  });

  test('starttls require with the CA: delivered over TLS', async () => {
    const res = await deliverMail(mail, tls(tlsServer.url));
    assert.deepEqual(res.accepted, ['root@host.example']);
    const got = tlsServer.received.at(-1)!;
    assert.equal(got.secure, true);
    assert.equal((await parse(got)).text, 'secret digest\n');
  });

  test('smtps:// is TLS from the first byte; smtp:// to that port fails', async () => {
    const url = `smtps://127.0.0.1:${implicitServer.port}`;
    await deliverMail(mail, tls(url, { starttls: 'never' }));
    assert.equal(implicitServer.received.at(-1)!.secure, true);
    const err = await failure(
      deliverMail(mail, tls(`smtp://127.0.0.1:${implicitServer.port}`, { timeoutMs: 500 })),
    );
    // The server waits for a ClientHello, the client for a greeting.
    assert.ok(hasMailCode(err, MailErrorCodes.TIMEOUT), String(err));
  });

  test('starttls opportunistic upgrades when offered', async () => {
    await deliverMail(mail, tls(tlsServer.url, { starttls: 'opportunistic' }));
    assert.equal(tlsServer.received.at(-1)!.secure, true);
  });

  test('starttls never stays in plaintext even when offered', async () => {
    await deliverMail(mail, tls(tlsServer.url, { starttls: 'never' }));
    assert.equal(tlsServer.received.at(-1)!.secure, false);
  });

  test('starttls require against a server without STARTTLS: TLS error, nothing sent', async () => {
    const err = await failure(deliverMail(mail, tls(plainServer.url)));
    assert.ok(hasMailCode(err, MailErrorCodes.TLS), String(err));
    assert.equal(err.command, 'STARTTLS');
    assert.equal(plainServer.received.length, 0);
  });

  test('a certificate from an unknown CA is a TLS error unless rejectUnauthorized is false', async () => {
    const err = await failure(deliverMail(mail, tls(tlsServer.url, { tls: {} })));
    assert.ok(hasMailCode(err, MailErrorCodes.TLS), String(err));
    assert.match(err.message, /self[- ]signed|certificate/i);
    await deliverMail(mail, tls(tlsServer.url, { tls: { rejectUnauthorized: false } }));
    assert.equal(tlsServer.received.at(-1)!.secure, true);
  });

  test('AUTH with the right password delivers as that user', async () => {
    await deliverMail(mail, tls(authServer.url, { user: 'portsnare', password: 'right horse battery' }));
    const got = authServer.received.at(-1)!;
    assert.equal(got.user, 'portsnare');
    assert.equal(got.secure, true);
  });

  test('AUTH with a wrong password is an auth error with the 535 reply', async () => {
    const count = authServer.received.length;
    const err = await failure(
      deliverMail(mail, tls(authServer.url, { user: 'portsnare', password: 'wrong' })),
    );
    assert.ok(hasMailCode(err, MailErrorCodes.AUTH), String(err));
    assert.equal(err.responseCode, 535);
    assert.match(err.message, /Invalid username or password/);
    assert.equal(authServer.received.length, count);
  });

  test('no credentials where the server demands them is an auth error', async () => {
    const err = await failure(deliverMail(mail, tls(authServer.url)));
    // smtp-server answers MAIL FROM with 530 "Authentication Required".
    assert.ok(hasMailCode(err, MailErrorCodes.AUTH), String(err));
    assert.equal(err.responseCode, 530);
    assert.equal(err.command, 'MAIL FROM');
  });
});
