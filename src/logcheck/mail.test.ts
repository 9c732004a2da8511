import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { ErrorCodes, hasCode } from '../errors.ts';
import {
  buildMessage,
  chooseEncoding,
  encodeBase64,
  encodeQuotedPrintable,
  sendMail,
  sendmailArgs,
  SendmailError,
  type MailOptions,
} from './mail.ts';

const EXPECTED = new URL('../../test/fixtures/logcheck/expected/', import.meta.url).pathname;
const MIME_CONSTRUCT = '/usr/bin/mime-construct';
const haveMimeConstruct = existsSync(MIME_CONSTRUCT);
const havePerl = existsSync('/usr/bin/perl');

/** Quoted-printable decoding (RFC 2045), only for reading the fixtures back. */
function decodeQP(s: string): string {
  return s
    .replace(/=\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function splitMessage(eml: string): { headers: string; body: string } {
  const at = eml.indexOf('\n\n');
  return { headers: eml.slice(0, at + 1), body: eml.slice(at + 2) };
}

const emlCases: { file: string; subject: string; report?: string }[] = [
  {
    file: 'mail-server.eml',
    subject: 'host.example.org 2025-11-22 11:02 +0000 Security Alerts',
    report: 'report-server.txt',
  },
  {
    file: 'mail-paranoid-reboot.eml',
    subject: 'Reboot: host.example.org 2025-11-22 11:02 +0000 Security Alerts',
    report: 'report-paranoid.txt',
  },
  {
    file: 'mail-server-addtag.eml',
    subject: '[logcheck] host.example.org 2025-11-22 11:02 +0000 PORTSCAN / ATTACK ALERTS',
  },
  {
    file: 'mail-server-with-proposed-portsentry-rules.eml',
    subject: 'host.example.org 2025-11-22 11:02 +0000 Security Alerts',
    report: 'report-server-with-proposed-portsentry-rules.txt',
  },
];

for (const c of emlCases) {
  test(`buildMessage equals ${c.file} byte for byte`, () => {
    const eml = readFileSync(join(EXPECTED, c.file), 'latin1');
    const { headers, body } = splitMessage(eml);
    assert.match(headers, /^Content-Transfer-Encoding: quoted-printable$/m);
    const report = decodeQP(body);
    if (c.report !== undefined) {
      // The mail carries the very body `-o` prints for the same run.
      assert.equal(report, readFileSync(join(EXPECTED, c.report), 'latin1'));
    }
    const msg = buildMessage(Buffer.from(report, 'latin1'), { subject: c.subject, to: 'root' });
    assert.equal(msg.toString('latin1'), eml);
  });
}

test('header order and the mime-construct version tag', () => {
  const msg = buildMessage('hello\n', { subject: 'S', to: ['a@x', 'b@y'] }).toString('latin1');
  assert.equal(
    msg,
    'To: a@x, b@y\nSubject: S\nAuto-Submitted: auto-generated\nMIME-Version: 1.0 (mime-construct 1.11)\n\nhello\n',
  );
  // Non-ASCII header text is sent as its UTF-8 bytes (what mime-construct gets in its argv).
  const utf = buildMessage('x\n', { subject: 'Événements', to: 'rené' });
  assert.match(utf.toString('utf8'), /^To: rené\nSubject: Événements\n/);
  // Multi-line values are continued with a tab.
  const cont = buildMessage('x\n', { subject: 'a\nb', to: 'r' }).toString('latin1');
  assert.match(cont, /^Subject: a\n\tb$/m);
});

test('chooseEncoding follows mime-construct', () => {
  assert.equal(chooseEncoding(''), '7bit');
  assert.equal(chooseEncoding('plain text\n'), '7bit');
  assert.equal(chooseEncoding('a=b\n'), '7bit');
  assert.equal(chooseEncoding('no newline'), 'base64');
  assert.equal(chooseEncoding('trailing blank \n'), 'quoted-printable');
  assert.equal(chooseEncoding('From me\n'), 'quoted-printable');
  assert.equal(chooseEncoding(`${'x'.repeat(80)}\n`), '7bit');
  assert.equal(chooseEncoding(`${'x'.repeat(81)}\n`), 'quoted-printable');
  assert.equal(chooseEncoding('caf\xe9\n'), 'quoted-printable');
  assert.equal(chooseEncoding('\xe9\xe9\n'), 'base64');
});

test('quoted-printable: soft breaks at 76, escapes never split, blanks before newline escaped', () => {
  assert.equal(encodeQuotedPrintable(''), '');
  assert.equal(encodeQuotedPrintable('foo'), 'foo=\n');
  assert.equal(encodeQuotedPrintable(`${'a'.repeat(76)}\n`), `${'a'.repeat(76)}\n`);
  assert.equal(encodeQuotedPrintable(`${'a'.repeat(77)}\n`), `${'a'.repeat(75)}=\naa\n`);
  assert.equal(encodeQuotedPrintable('a \n'), 'a=20\n');
  assert.equal(encodeQuotedPrintable('a\t'), 'a=09=\n');
  assert.equal(encodeQuotedPrintable(`${'a'.repeat(74)}==\n`), `${'a'.repeat(74)}=\n=3D=3D\n`);
  assert.equal(encodeQuotedPrintable('=-=\n'), '=3D-=3D\n');
  assert.equal(encodeBase64('Report attached'), 'UmVwb3J0IGF0dGFjaGVk\n');
});

test(
  'quoted-printable equals perl MIME::QuotedPrint on random data',
  { skip: !havePerl && 'no perl' },
  () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const alphabet = ['a', 'b', ' ', '\t', '\n', '=', '\x00', '\xe9', 'x', '.', 'F', '\r'];
    const inputs: string[] = [];
    for (let t = 0; t < 300; t++) {
      let s = '';
      const len = rnd(400);
      for (let i = 0; i < len; i++) s += rnd(10) < 7 ? 'abcdefghij'[rnd(10)] : alphabet[rnd(alphabet.length)];
      inputs.push(rnd(2) ? `${s}\n` : s);
    }
    // One perl run for all inputs: NUL-free framing by length.
    const framed = inputs.map((s) => `${s.length}:${s}`).join('');
    const out = execFileSync(
      'perl',
      [
        '-MMIME::QuotedPrint',
        '-e',
        'local $/; my $d = <STDIN>; while ($d =~ s/^(\\d+)://) { my $s = substr($d, 0, $1, ""); my $e = MIME::QuotedPrint::encode($s); print length($e), ":", $e; }',
      ],
      { input: Buffer.from(framed, 'latin1') },
    ).toString('latin1');
    let rest = out;
    for (const s of inputs) {
      const m = /^(\d+):/.exec(rest);
      assert.ok(m);
      const n = Number(m[1]);
      const want = rest.slice(m[0].length, m[0].length + n);
      rest = rest.slice(m[0].length + n);
      assert.equal(encodeQuotedPrintable(s), want, JSON.stringify(s));
    }
  },
);

/** mime-construct --output with logcheck's arguments for one MAILASATTACH mode. */
function mimeConstruct(
  reportPath: string,
  o: { subject: string; to: string; encoding: string; attach: 0 | 1 | 2 },
): string {
  const enc = o.encoding === '' ? [] : ['--encoding', o.encoding];
  const base = ['--output', '--header', 'Auto-Submitted: auto-generated', '--subject', o.subject];
  const args =
    o.attach === 0
      ? [...base, '--to', o.to, ...enc, '--file', reportPath]
      : o.attach === 1
        ? [
            ...base,
            ...enc,
            '--string',
            'Report attached',
            '--to',
            o.to,
            '--attachment',
            'logcheck_report',
            ...enc,
            '--file',
            reportPath,
          ]
        : [
            ...base,
            ...enc,
            '--string',
            'Report attached',
            '--to',
            o.to,
            '--type',
            'application/x-gzip',
            '--attachment',
            'logcheck_report.gz',
            '--file',
            reportPath,
          ];
  return execFileSync(MIME_CONSTRUCT, args).toString('latin1');
}

/** Replaces the multipart boundary word with BOUNDARY. */
function normaliseBoundary(msg: string): string {
  const m = /boundary=(\S+)/.exec(msg);
  return m ? msg.split(m[1]!).join('BOUNDARY') : msg;
}

const bodies: Record<string, string> = {
  empty: '',
  plain: 'one line\n',
  'long lines': `${'x'.repeat(100)}\n${'y = z '.repeat(30)}\n`,
  'from lines': 'From here\nFrom there\nnot From\n',
  'trailing blanks': 'a \nb\t\nc\n',
  latin1: 'caf\xe9 cr\xe8me\n',
  binaryish: '\x00\x01\x02\xff\xfe\n',
  'no final newline': 'Report',
  fixture: readFileSync(join(EXPECTED, 'report-server.txt'), 'latin1'),
};

for (const [name, body] of Object.entries(bodies)) {
  test(
    `same bytes as mime-construct 1.11: ${name}`,
    { skip: !haveMimeConstruct && 'no mime-construct' },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'lc-mail-'));
      try {
        const path = join(dir, 'report');
        writeFileSync(path, Buffer.from(body, 'latin1'));
        for (const encoding of ['', '7bit', '8bit', 'quoted-printable', 'base64']) {
          for (const attach of [0, 1] as const) {
            const o: MailOptions = {
              subject: 'host 2025-11-22 11:02 +0000 System Events',
              to: 'root',
              encoding,
              attach,
            };
            const want = normaliseBoundary(
              mimeConstruct(path, { subject: o.subject, to: 'root', encoding, attach }),
            );
            const got = buildMessage(Buffer.from(body, 'latin1'), {
              ...o,
              boundary: () => 'BOUNDARY',
            }).toString('latin1');
            assert.equal(got, want, `encoding=${encoding || 'auto'} attach=${attach}`);
          }
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

test('MAILASATTACH=2: gzip attachment next to "Report attached"', () => {
  const report = readFileSync(join(EXPECTED, 'report-server.txt'));
  const msg = buildMessage(report, {
    subject: 'S',
    to: 'root',
    attach: 2,
    boundary: () => 'BOUNDARY',
  }).toString('latin1');
  const [head, ...rest] = msg.split('\n--BOUNDARY\n');
  assert.equal(
    head,
    'To: root\nSubject: S\nAuto-Submitted: auto-generated\nMIME-Version: 1.0 (mime-construct 1.11)\nContent-Type: multipart/mixed; boundary=BOUNDARY\n',
  );
  assert.equal(rest[0], 'Content-Transfer-Encoding: base64\n\nUmVwb3J0IGF0dGFjaGVk\n');
  const last = rest[1]!;
  assert.ok(last.endsWith('\n--BOUNDARY--\n'));
  const { headers, body } = splitMessage(last.slice(0, -'\n--BOUNDARY--\n'.length));
  assert.match(
    headers,
    /^Content-Disposition: attachment; filename=logcheck_report\.gz\nContent-Type: application\/x-gzip; name=logcheck_report\.gz\nContent-Transfer-Encoding: (base64|quoted-printable)\n$/,
  );
  assert.deepEqual(gunzipSync(Buffer.from(body, 'base64')), report);
});

test(
  'MAILASATTACH=2 has the structure mime-construct gives it',
  { skip: !haveMimeConstruct && 'no mime-construct' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-mail-'));
    try {
      const gz = join(dir, 'report.gz');
      const report = readFileSync(join(EXPECTED, 'report-server.txt'));
      const mine = buildMessage(report, {
        subject: 'S',
        to: 'root',
        attach: 2,
        boundary: () => 'BOUNDARY',
      }).toString('latin1');
      // mime-construct reads gzip's output from stdin in logcheck; give it our gzip bytes so only
      // the compressor (gzip(1) vs zlib, and gzip's name/mtime header) can differ, and it does not.
      const gzBody = /filename=logcheck_report\.gz\n[^]*?\n\n([^]*?)\n--BOUNDARY--\n$/.exec(mine);
      assert.ok(gzBody);
      writeFileSync(gz, Buffer.from(gzBody[1]!, 'base64'));
      const theirs = normaliseBoundary(
        mimeConstruct(gz, { subject: 'S', to: 'root', encoding: '', attach: 2 }),
      );
      assert.equal(mine, theirs);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('an invalid MIMEENCODING is a CONFIG error, as mime-construct dies on it', () => {
  assert.throws(
    () => buildMessage('x\n', { subject: 's', to: 'r', encoding: 'uuencode' }),
    (e: unknown) => hasCode(e, ErrorCodes.CONFIG),
  );
});

/** A fake sendmail: records argv, PATH and stdin, prints to stderr, exits with $FAKE_STATUS. */
function fakeSendmail(dir: string): string {
  const path = join(dir, 'sendmail');
  writeFileSync(
    path,
    `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/argv"\nprintf '%s' "$PATH" > "${dir}/path"\ncat > "${dir}/stdin"\necho "fake sendmail says no" >&2\nexit "\${FAKE_STATUS:-0}"\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

test('sendMail runs sendmail -oi <recipients> with the message on stdin', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lc-send-'));
  try {
    fakeSendmail(dir);
    const msg = buildMessage('hello\n', { subject: 'S', to: 'root' });
    // Default program: `sendmail` found through PATH, which gets :/usr/sbin:/usr/lib appended.
    await sendMail(msg, ['root', 'admin@example.org'], { env: { PATH: `${dir}:/usr/bin:/bin` } });
    assert.equal(readFileSync(join(dir, 'argv'), 'utf8'), '-oi\nroot\nadmin@example.org\n');
    assert.deepEqual(readFileSync(join(dir, 'stdin')), msg);
    assert.equal(readFileSync(join(dir, 'path'), 'utf8'), `${dir}:/usr/bin:/bin:/usr/sbin:/usr/lib`);
    assert.deepEqual(sendmailArgs(['a']), ['-oi', 'a']);
    // An argument with shell metacharacters reaches the program as one word.
    await sendMail(msg, ['x; touch pwned'], { sendmail: join(dir, 'sendmail'), env: {} });
    assert.equal(readFileSync(join(dir, 'argv'), 'utf8'), '-oi\nx; touch pwned\n');
    assert.equal(existsSync('pwned'), false);
    // Without PATH in the environment mime-construct uses /usr/local/bin:/bin:/usr/bin first.
    assert.equal(readFileSync(join(dir, 'path'), 'utf8'), '/usr/local/bin:/bin:/usr/bin:/usr/sbin:/usr/lib');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sendMail rejects with SENDMAIL_FAILED and the stderr when sendmail exits non-zero', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lc-send-'));
  try {
    const prog = fakeSendmail(dir);
    await assert.rejects(
      sendMail(Buffer.from('x\n'), ['root'], { sendmail: prog, env: { FAKE_STATUS: '75' } }),
      (e: unknown) => {
        assert.ok(e instanceof SendmailError);
        assert.equal(e.code, ErrorCodes.SENDMAIL_FAILED);
        assert.equal(e.exitCode, 75);
        assert.equal(e.stderr, 'fake sendmail says no\n');
        assert.match(e.message, /exited with status 75: fake sendmail says no/);
        return true;
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sendMail rejects with SENDMAIL_FAILED when the program cannot be run', async () => {
  await assert.rejects(
    sendMail(Buffer.from('x\n'), ['root'], { sendmail: '/nonexistent/sendmail' }),
    (e: unknown) => hasCode(e, ErrorCodes.SENDMAIL_FAILED) && /cannot run/.test((e as Error).message),
  );
  await assert.rejects(
    sendMail(Buffer.from('x\n'), ['root'], {
      env: { PATH: '/nonexistent' },
      sendmail: 'no-such-sendmail-program',
    }),
    (e: unknown) => hasCode(e, ErrorCodes.SENDMAIL_FAILED),
  );
});

/** A minimal SMTP server on 127.0.0.1 that accepts one message and hands back its DATA. */
async function smtpSink(): Promise<{
  port: number;
  received: Promise<{ rcpt: string[]; data: string }>;
  close: () => void;
}> {
  let deliver!: (v: { rcpt: string[]; data: string }) => void;
  const received = new Promise<{ rcpt: string[]; data: string }>((r) => (deliver = r));
  const sockets: Socket[] = [];
  const server = createServer((sock) => {
    sockets.push(sock);
    sock.setEncoding('latin1');
    const rcpt: string[] = [];
    let buf = '';
    let inData = false;
    sock.write('220 localhost ESMTP test\r\n');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          const data = buf.slice(0, end + 2);
          buf = buf.slice(end + 5);
          inData = false;
          sock.write('250 OK queued\r\n');
          deliver({ rcpt, data: data.replace(/\r\n/g, '\n').replace(/^\.\./gm, '.') });
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') sock.write('250 localhost\r\n');
        else if (verb === 'MAIL') sock.write('250 OK\r\n');
        else if (verb === 'RCPT') {
          rcpt.push(line.slice(8));
          sock.write('250 OK\r\n');
        } else if (verb === 'DATA') {
          inData = true;
          sock.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') {
          sock.end('221 bye\r\n');
        } else sock.write('250 OK\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  assert.ok(addr !== null && typeof addr === 'object');
  return {
    port: addr.port,
    received,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const realSendmail = '/usr/sbin/sendmail';
// Only msmtp, and only with no system config that could point it elsewhere: the test gives it a
// user config (HOME) naming the loopback server below, nothing else.
const msmtpOk = existsSync(realSendmail) && existsSync('/usr/bin/msmtp') && !existsSync('/etc/msmtprc');

test(
  'delivery through the real msmtp sendmail to an SMTP server on 127.0.0.1',
  { skip: !msmtpOk && 'no msmtp sendmail (or a system /etc/msmtprc)' },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-msmtp-'));
    const sink = await smtpSink();
    try {
      const rc = join(dir, '.msmtprc');
      writeFileSync(
        rc,
        `defaults\nauth off\ntls off\nlogfile ${join(dir, 'msmtp.log')}\naccount default\nhost 127.0.0.1\nport ${sink.port}\nfrom logcheck@localhost\n`,
      );
      chmodSync(rc, 0o600);
      const report = readFileSync(join(EXPECTED, 'report-server.txt'));
      const msg = buildMessage(report, {
        subject: 'host 2025-11-22 11:02 +0000 Security Alerts',
        to: 'root@localhost',
      });
      await sendMail(msg, ['root@localhost'], {
        sendmail: realSendmail,
        env: { HOME: dir, XDG_CONFIG_HOME: join(dir, '.config'), PATH: '/usr/bin:/bin' },
      });
      const got = await sink.received;
      assert.deepEqual(got.rcpt, ['<root@localhost>']);
      // msmtp adds the headers the MTA owns (Date, From, Message-ID) when missing; everything of ours
      // arrives unchanged.
      const ours = msg.toString('latin1');
      const { headers, body } = splitMessage(got.data);
      assert.equal(body, splitMessage(ours).body);
      const kept = headers
        .split('\n')
        .filter((h) => !/^(Date|From|Message-ID): /i.test(h))
        .join('\n');
      assert.equal(kept, splitMessage(ours).headers);
    } finally {
      sink.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
