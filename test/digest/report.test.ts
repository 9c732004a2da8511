// `portsnare report` run as an administrator runs it (bin/portsnare, a portsentry.conf with REPORT_*
// keys, logcheck.conf for the logfile list, rule directory and level, Debian's stock rules): the
// digest of the fixture sample against logcheck's own mail for it (issue 12's first figure), its
// JSON, and delivery for real: to an SMTP server (smtp-server on loopback) and through Debian's
// msmtp as /usr/sbin/sendmail; offsets that move only after a delivery, "still happening" on the
// next run, and failures (server down, refused recipient) that leave the offsets where they were.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { PORTSNARE_BIN, REPO_ROOT } from '../helpers/daemon.ts';
import { copyStockRules } from '../helpers/logcheck-rules.ts';
import { closedPort, parse, startSmtpServer, type TestSmtpServer } from '../helpers/smtp.ts';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'logcheck');
const SAMPLE = join(FIXTURES, 'input', 'sample.log');
/** What logcheck 1.4.2 mailed for the sample at level server (made by the real logcheck). */
const LOGCHECK_MAIL = join(FIXTURES, 'expected', 'mail-server.eml');
const LOGCHECK_REPORT = join(FIXTURES, 'expected', 'report-server.txt');
/** Every source the sample's PortSentry, sshd and firewall lines name (192.0.2.10 only logs in). */
const SAMPLE_ATTACKERS = ['203.0.113.9', '203.0.113.66', '192.0.2.200', '198.51.100.7', '198.51.100.23'];

const dirs: string[] = [];
const servers: TestSmtpServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Workspace {
  dir: string;
  log: string;
  conf: string;
  state: string;
}

function workspace(keys: Record<string, string> = {}, log = readFileSync(SAMPLE, 'utf8')): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'psn-report-'));
  dirs.push(dir);
  const rules = copyStockRules(join(dir, 'rules'));
  const logPath = join(dir, 'syslog');
  writeFileSync(logPath, log);
  writeFileSync(join(dir, 'logfiles'), `${logPath}\n`);
  writeFileSync(
    join(dir, 'logcheck.conf'),
    `RULEDIR="${rules}"\nREPORTLEVEL="server"\nLOGFILES_LIST="${join(dir, 'logfiles')}"\nLOGFILES_LIST_D="${join(dir, 'none.d')}"\n`,
  );
  const all = {
    REPORT_LOGCHECK_CONF: join(dir, 'logcheck.conf'),
    REPORT_STATE_DIR: join(dir, 'state'),
    REPORT_MAIL_TO: 'admin@example.org',
    REPORT_MAIL_FROM: 'portsnare@host.example.org',
    ...keys,
  };
  const conf = join(dir, 'portsentry.conf');
  writeFileSync(
    conf,
    Object.entries(all)
      .map(([k, v]) => `${k}="${v}"\n`)
      .join(''),
  );
  return { dir, log: logPath, conf, state: join(dir, 'state') };
}

/** Runs the command without blocking this process: the SMTP servers of the tests live in it. */
function report(
  w: Workspace,
  args: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PORTSNARE_BIN, 'report', '--config', w.conf, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Offset files and the previous listing, by name and content. */
function stateOf(w: Workspace): Record<string, string> {
  let names: string[] = [];
  try {
    names = readdirSync(w.state);
  } catch {
    return {};
  }
  return Object.fromEntries(names.sort().map((n) => [n, readFileSync(join(w.state, n), 'utf8')]));
}

/** The text with folded rows joined again (continuation lines start with spaces). */
function unfold(text: string): string {
  return text.replace(/\n {2,}/g, ' ');
}

/** The messages of logcheck's Security Alerts and Security Events sections for the sample. */
function logcheckSecurityMessages(): string[] {
  const out: string[] = [];
  let inSecurity = false;
  for (const line of readFileSync(LOGCHECK_REPORT, 'utf8').split('\n')) {
    if (/^(Security Alerts|Security Events)/.test(line)) inSecurity = true;
    else if (/^System Events/.test(line)) inSecurity = false;
    const m = /^\w{3} [ \d]\d [\d:]{8} \S+ ([^:[\s]+)(?:\[\d+\])?: (?:\[\s*\d+\.\d+\] )?(.*)$/.exec(line);
    if (inSecurity && m) out.push(`${m[1]}: ${m[2]}`);
  }
  return out;
}

test('the sample: every attacker and every Security line logcheck reports, in a fifth of its mail', async () => {
  const w = workspace();
  const r = await report(w, ['--log', w.log, '--stdout']);
  assert.equal(r.status, 0, r.stderr);
  const digest = r.stdout;
  const limit = readFileSync(LOGCHECK_MAIL).length / 5;
  assert.ok(digest.length <= limit, `digest ${digest.length} bytes, a fifth of logcheck's mail is ${limit}`);
  assert.ok(
    digest.split('\n').every((l) => l.length <= 72),
    'every line fits a 72-column mail client',
  );
  const attackers = digest.slice(digest.indexOf('\nAttackers\n'), digest.indexOf('\nSecurity Alerts\n'));
  for (const a of SAMPLE_ATTACKERS)
    assert.match(attackers, new RegExp(`^${a.replaceAll('.', '\\.')}\\b`, 'm'), a);
  const flat = unfold(digest);
  const security = logcheckSecurityMessages();
  assert.equal(security.length, 11, 'logcheck reports 2 alerts and 9 events for the sample');
  for (const m of security) assert.ok(flat.includes(m), `the digest names: ${m}`);
  // The most severe first: the blocked scanner with its 21 repeats after the block.
  assert.match(
    attackers,
    /^203\.0\.113\.9 BLOCKED 10:15:01 via wrappers\+route\n {2}23 hits 10:15-10:50; 21 after the block/m,
  );
  assert.match(
    flat,
    /PortSentry\/portsnare 10:00-10:58: started 3 times, stopped once, listening on 25 TCP and 6 UDP ports/,
  );
  assert.deepEqual(stateOf(w), {}, '--log moves no offset');
});

test('JSON: the documented schema, and every line read is accounted for once', async () => {
  const w = workspace();
  const r = await report(w, ['--log', w.log, '--stdout', '--format', 'json']);
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as {
    schema: string;
    lines: number;
    ignored: number;
    cancelled: number;
    daemon: { lines: number; starts: number; tcpPorts: number };
    attackers: {
      lines: number;
      total: number;
      blocked: number;
      rows: {
        address: string;
        hits: number;
        stillBlocked: boolean;
        blockedVia: string[];
        portsText: string;
      }[];
    };
    sections: {
      kind: string;
      heading: string;
      lines: number;
      templates: { count: number; example: string }[];
    }[];
  };
  assert.equal(doc.schema, 'portsnare-digest/1');
  assert.equal(doc.lines, 229);
  const sectionLines = doc.sections.reduce((n, s) => n + s.lines, 0);
  assert.equal(
    doc.attackers.lines + doc.daemon.lines + sectionLines + doc.ignored + doc.cancelled,
    doc.lines,
  );
  assert.deepEqual(doc.attackers.rows.map((a) => a.address).sort(), [...SAMPLE_ATTACKERS].sort());
  const top = doc.attackers.rows[0]!;
  assert.equal(top.address, '203.0.113.9');
  assert.equal(top.stillBlocked, true);
  assert.deepEqual(top.blockedVia, ['wrappers', 'route']);
  assert.equal(doc.attackers.blocked, 3);
  assert.deepEqual(
    doc.sections.map((s) => [s.kind, s.heading, s.lines]),
    [
      ['alerts', 'Security Alerts for kernel', 1],
      ['alerts', 'Security Alerts for smartd', 1],
      ['events', 'Security Events for kernel', 1],
      ['events', 'Security Events for smartd', 1],
      ['events', 'Security Events for su', 2],
      ['events', 'Security Events for sudo', 5],
      ['system', 'System Events', 19],
    ],
  );
  for (const s of doc.sections) {
    assert.equal(
      s.templates.reduce((n, t) => n + t.count, 0),
      s.lines,
      `${s.heading}: templates hold every line`,
    );
    for (const t of s.templates)
      assert.ok(readFileSync(SAMPLE, 'utf8').includes(t.example), 'examples are real lines');
  }
});

async function smtpWorkspace(extra: Record<string, string> = {}) {
  const server = await startSmtpServer();
  servers.push(server);
  const w = workspace({
    REPORT_DELIVERY: 'smtp',
    REPORT_SMTP_URL: `smtp://127.0.0.1:${server.port}`,
    REPORT_SMTP_STARTTLS: 'never',
    REPORT_SMTP_TIMEOUT: '5',
    ...extra,
  });
  return { server, w };
}

test('SMTP: text and HTML parts and the raw lines attached; offsets move; the next run says still happening', async () => {
  const { server, w } = await smtpWorkspace({ REPORT_FORMAT: 'html', REPORT_ATTACH_RAW: '1' });
  const first = await report(w);
  assert.equal(first.status, 0, first.stderr);
  assert.equal(server.received.length, 1);
  assert.deepEqual(server.received[0]!.to, ['admin@example.org']);
  const mail = await parse(server.received[0]!);
  assert.match(
    mail.subject ?? '',
    /^portsnare digest for \S+: 5 attackers \(3 blocked\), 2 alerts, 9 security events$/,
  );
  assert.match(mail.text ?? '', /^203\.0\.113\.9 BLOCKED/m);
  assert.match(String(mail.html), /<td [^>]*>203\.0\.113\.9<\/td>/);
  assert.equal(mail.headers.get('auto-submitted'), 'auto-generated');
  const raw = mail.attachments.find((a) => a.filename === 'lines.txt.gz');
  assert.ok(raw, 'the raw lines are attached');
  const rawLines = gunzipSync(raw.content).toString('utf8').trimEnd().split('\n');
  // Every line that no ignore rule removed rides along.
  const json = JSON.parse((await report(w, ['--log', w.log, '--stdout', '--format', 'json'])).stdout) as {
    lines: number;
    ignored: number;
  };
  assert.equal(rawLines.length, json.lines - json.ignored);
  for (const l of rawLines) assert.ok(readFileSync(w.log, 'utf8').includes(l));
  const offsets = stateOf(w);
  assert.ok(
    Object.keys(offsets).some((n) => n.startsWith('offset')),
    'an offset file was written',
  );
  assert.ok('previous.json' in offsets);

  // Nothing new: no mail at all.
  assert.equal((await report(w)).status, 0);
  assert.equal(server.received.length, 1);

  // The scanner goes on and a new one comes: the new one is listed, the old one is one line.
  appendFileSync(
    w.log,
    'Nov 22 11:05:00 host portsentry[1201]: attackalert: Host: 203.0.113.9/203.0.113.9 is already blocked Ignoring\n' +
      'Nov 22 11:05:01 host portsentry[1201]: attackalert: Host: 203.0.113.9/203.0.113.9 is already blocked Ignoring\n' +
      'Nov 22 11:06:00 host portsentry[1201]: attackalert: Connect from host: 198.51.100.99/198.51.100.99 to TCP port: 143\n',
  );
  assert.equal((await report(w)).status, 0);
  assert.equal(server.received.length, 2);
  const next = (await parse(server.received[1]!)).text ?? '';
  assert.match(next, /^198\.51\.100\.99 not blocked$/m);
  assert.doesNotMatch(next, /^203\.0\.113\.9 /m, 'not listed again');
  assert.match(unfold(next), /Still happening \(1 attacker, 2 new\): 203\.0\.113\.9 \+2/);
});

test('a delivery that fails (server down, recipient refused) exits non-zero and moves nothing; the next run sends the same', async () => {
  const port = await closedPort();
  const w = workspace({
    REPORT_DELIVERY: 'smtp',
    REPORT_SMTP_URL: `smtp://127.0.0.1:${port}`,
    REPORT_SMTP_STARTTLS: 'never',
    REPORT_SMTP_TIMEOUT: '5',
  });
  const down = await report(w);
  assert.equal(down.status, 1);
  assert.match(down.stderr, /^portsnare report: .*127\.0\.0\.1.*(refused|ECONNREFUSED)/im);
  assert.deepEqual(stateOf(w), {}, 'no offset, no listing');

  const refusing = await startSmtpServer({
    onRcptTo(address, _session, callback) {
      callback(address.address === 'admin@example.org' ? new Error('550 no such user') : undefined);
    },
  });
  servers.push(refusing);
  writeFileSync(
    w.conf,
    readFileSync(w.conf, 'utf8').replace(`127.0.0.1:${port}`, `127.0.0.1:${refusing.port}`),
  );
  const refused = await report(w);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /admin@example\.org/);
  assert.deepEqual(stateOf(w), {});

  const good = await startSmtpServer();
  servers.push(good);
  writeFileSync(
    w.conf,
    readFileSync(w.conf, 'utf8').replace(`127.0.0.1:${refusing.port}`, `127.0.0.1:${good.port}`),
  );
  assert.equal((await report(w)).status, 0);
  assert.equal(good.received.length, 1);
  assert.match(
    (await parse(good.received[0]!)).text ?? '',
    /^203\.0\.113\.9 BLOCKED/m,
    'the same lines, sent now',
  );
});

test('sendmail: Debian msmtp-mta as /usr/sbin/sendmail relays the digest to the server', async () => {
  const server = await startSmtpServer();
  servers.push(server);
  const w = workspace({ REPORT_DELIVERY: 'sendmail', REPORT_SENDMAIL: '/usr/sbin/sendmail' });
  // msmtp reads ~/.msmtprc (mode 0600) when no system-wide /etc/msmtprc says otherwise.
  const rc = join(w.dir, '.msmtprc');
  writeFileSync(
    rc,
    `defaults\nsyslog off\naccount default\nhost 127.0.0.1\nport ${server.port}\nauth off\ntls off\nfrom portsnare@host.example.org\n`,
  );
  chmodSync(rc, 0o600);
  const r = await report(w, [], { ...process.env, HOME: w.dir });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(server.received.length, 1);
  assert.deepEqual(server.received[0]!.to, ['admin@example.org']);
  const mail = await parse(server.received[0]!);
  assert.match(mail.text ?? '', /^198\.51\.100\.23 not blocked$/m);
  assert.ok('previous.json' in stateOf(w));
});

test('--test leaves offsets and listing; --since reads a time range; bad arguments are clear', async () => {
  const { server, w } = await smtpWorkspace();
  assert.equal((await report(w, ['--test'])).status, 0);
  assert.equal(server.received.length, 1);
  assert.deepEqual(stateOf(w), {});
  assert.equal((await report(w, ['--test'])).status, 0);
  assert.equal(server.received.length, 2, 'the same lines again');

  const year =
    new Date().getFullYear() -
    (new Date().getMonth() < 10 || (new Date().getMonth() === 10 && new Date().getDate() < 22) ? 1 : 0);
  const since = await report(w, ['--since', `${year}-11-22 10:30`, '--stdout', '--format', 'json']);
  assert.equal(since.status, 0, since.stderr);
  const doc = JSON.parse(since.stdout) as { first: string; attackers: { rows: { address: string }[] } };
  assert.ok(new Date(doc.first).getTime() >= new Date(year, 10, 22, 10, 30).getTime());
  assert.deepEqual(doc.attackers.rows.map((a) => a.address).sort(), ['203.0.113.66', '203.0.113.9']);
  assert.deepEqual(stateOf(w), {}, '--since moves nothing');

  const bad = await report(w, ['--since', 'last tuesday', '--stdout']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--since: "last tuesday" is not a time/);
  const badFormat = await report(w, ['--format', 'pdf', '--stdout']);
  assert.equal(badFormat.status, 1);
  assert.match(badFormat.stderr, /--format: "pdf" is not text, html or json/);
  // (The first occurrence of a key counts, as in PortSentry 1.2: the line is replaced, not added.)
  writeFileSync(
    w.conf,
    readFileSync(w.conf, 'utf8').replace(/^REPORT_MAIL_TO=.*$/m, 'REPORT_MAIL_TO="root -oQ/tmp"'),
  );
  const badConf = await report(w, ['--stdout']);
  assert.equal(badConf.status, 78);
  assert.match(badConf.stderr, /portsentry\.conf:\d+: REPORT_MAIL_TO: "-oQ\/tmp" is not a mail address/);
});
