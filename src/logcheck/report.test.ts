import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  composeSubject,
  errorSubject,
  formatReport,
  formatSection,
  JOURNAL_FIRST_RUN,
  readIntroFiles,
  underline,
  type ReportInput,
  type SubjectOptions,
} from './report.ts';

const FIX = new URL('../../test/fixtures/logcheck/', import.meta.url).pathname;
const EXPECTED = join(FIX, 'expected');
const HEADER = readFileSync(join(FIX, 'etc/header.txt'), 'utf8');

const SUBJECTS = { attack: 'Security Alerts', security: 'Security Events', events: 'System Events' };

/** Splits a logcheck report body back into the data it was made from. */
function parseReport(text: string, header: string | null, subjects = SUBJECTS): ReportInput {
  let rest = text;
  if (header !== null) {
    assert.ok(rest.startsWith(header), 'report starts with header.txt');
    rest = rest.slice(header.length);
  }
  const lines = rest.split('\n');
  assert.equal(lines.pop(), '', 'report ends with a newline');
  const input: ReportInput = { alerts: [], events: [], system: [] };
  const isHeading = (i: number): boolean =>
    lines[i] !== undefined && lines[i] !== '' && lines[i + 1] === underline(lines[i]);
  let i = 0;
  while (i < lines.length) {
    assert.ok(isHeading(i), `section heading expected at line ${i}: ${lines[i]}`);
    const heading = lines[i]!;
    i += 2;
    const body: string[] = [];
    // A section ends at the blank line before the next heading or the end of the report.
    while (!(lines[i] === '' && (i + 1 === lines.length || isHeading(i + 1)))) {
      assert.ok(i < lines.length, 'section ends with a blank line');
      body.push(lines[i]!);
      i++;
    }
    i++;
    if (heading === subjects.events) input.system = body;
    else if (heading.startsWith(subjects.attack)) input.alerts.push({ heading, lines: body });
    else if (heading.startsWith(subjects.security)) input.events.push({ heading, lines: body });
    else assert.fail(`unknown section ${heading}`);
  }
  return input;
}

const reportFixtures = readdirSync(EXPECTED).filter(
  (f) => /^(report-.*|partial-line-run\d|rotation-.*-run\d)\.txt$/.test(f) && !f.includes('-offset-'),
);

test('fixture list covers the report bodies of the real logcheck', () => {
  assert.ok(reportFixtures.includes('report-server.txt'));
  assert.ok(reportFixtures.length >= 30, `${reportFixtures.length} fixtures`);
});

for (const name of reportFixtures) {
  test(`formatReport rebuilds ${name} byte for byte`, () => {
    // The broken-rule fixture also caught grep's complaint on stderr; it is not part of the body.
    const text = readFileSync(join(EXPECTED, name), 'utf8').replace(/^(grep: .*\n)+/, '');
    const options = { intro: true, header: HEADER, footer: null, eventsSubject: 'System Events' };
    if (text === '') {
      // Nothing left after filtering: logcheck prints nothing and sends nothing.
      assert.equal(formatReport({ alerts: [], events: [], system: [] }, options), null);
      return;
    }
    const input = parseReport(text, HEADER);
    const report = formatReport(input, options);
    assert.ok(report);
    assert.equal(report.body, text);
  });
}

test('report-server.txt: sections, order and level', () => {
  const text = readFileSync(join(EXPECTED, 'report-server.txt'), 'utf8');
  const input = parseReport(text, HEADER);
  assert.deepEqual(
    input.alerts.map((s) => s.heading),
    ['Security Alerts for kernel', 'Security Alerts for smartd'],
  );
  assert.deepEqual(
    input.events.map((s) => s.heading),
    [
      'Security Events for kernel',
      'Security Events for smartd',
      'Security Events for su',
      'Security Events for sudo',
    ],
  );
  assert.equal(input.system.length, 137);
  assert.equal(
    formatReport(input, { intro: true, header: HEADER, eventsSubject: 'System Events' })?.fired,
    'attack',
  );
});

test('underline alternates = and - starting with =, as long as the heading', () => {
  assert.equal(underline('Security Events for su'), '=-=-=-=-=-=-=-=-=-=-=-');
  assert.equal(underline('System Events'), '=-=-=-=-=-=-=');
  assert.equal(underline(''), '');
  assert.equal(underline('Événements'), '=-=-=-=-=-');
  assert.equal(formatSection('X y', ['a', 'b']), 'X y\n=-=\na\nb\n\n');
});

test('no section with lines means no report, whatever else there is', () => {
  const empty = { alerts: [{ heading: 'Security Alerts for kernel', lines: [] }], events: [], system: [] };
  const o = {
    intro: true,
    header: HEADER,
    eventsSubject: 'System Events',
    readErrors: ['/var/log/x'],
    journalFirstRun: true,
  };
  assert.equal(formatReport(empty, o), null);
});

test('levels: events beat system, alerts beat events; empty sections are left out', () => {
  const o = { intro: false, header: HEADER, eventsSubject: 'System Events' };
  assert.equal(formatReport({ alerts: [], events: [], system: ['x'] }, o)?.fired, 'system');
  const ev = formatReport(
    { alerts: [{ heading: 'A', lines: [] }], events: [{ heading: 'E', lines: ['e'] }], system: [] },
    o,
  );
  assert.equal(ev?.fired, 'security');
  assert.equal(ev?.body, 'E\n=\ne\n\n');
});

test('journal first run, header, read errors, warnings and footer in logcheck order', () => {
  const r = formatReport(
    { alerts: [{ heading: 'Security Alerts for k', lines: ['a1'] }], events: [], system: ['s1', 's2'] },
    {
      intro: true,
      header: HEADER,
      footer: 'FOOTER\n',
      eventsSubject: 'Custom Events',
      readErrors: ['/var/log/a', '/var/log/b'],
      journalFirstRun: true,
      warnings: ['w1'],
    },
  );
  assert.equal(
    r?.body,
    JOURNAL_FIRST_RUN.join('\n') +
      '\n' +
      HEADER +
      '\nE: File could not be read: /var/log/a\nE: File could not be read: /var/log/b\n\n' +
      'Security Alerts for k\n=-=-=-=-=-=-=-=-=-=-=\na1\n\n' +
      'Custom Events\n=-=-=-=-=-=-=\ns1\ns2\n\n' +
      'Logcheck Warnings\n=-=-=-=-=-=-=-=-=\nw1\n\n' +
      'FOOTER\n',
  );
});

test('INTRO=0 drops header and footer; a missing header.txt is simply absent', () => {
  const input = { alerts: [], events: [], system: ['s'] };
  assert.equal(
    formatReport(input, { intro: false, header: HEADER, footer: 'F\n', eventsSubject: 'System Events' })
      ?.body,
    'System Events\n=-=-=-=-=-=-=\ns\n\n',
  );
  assert.equal(
    formatReport(input, { intro: true, header: null, footer: null, eventsSubject: 'System Events' })?.body,
    'System Events\n=-=-=-=-=-=-=\ns\n\n',
  );
});

test('readIntroFiles reads header.txt and footer.txt of the rule dir, absent ones are null', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lc-intro-'));
  try {
    assert.deepEqual(await readIntroFiles(dir), { header: null, footer: null });
    writeFileSync(join(dir, 'header.txt'), HEADER);
    writeFileSync(join(dir, 'footer.txt'), 'bye\n');
    assert.deepEqual(await readIntroFiles(dir), { header: HEADER, footer: 'bye\n' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const subj: SubjectOptions = {
  addTag: false,
  reboot: false,
  hostname: 'host.example.org',
  date: '2025-11-22 11:02 +0000',
  attackSubject: 'Security Alerts',
  securitySubject: 'Security Events',
  eventsSubject: 'System Events',
};

test('subjects quoted in logcheck.md and the .eml fixtures', () => {
  assert.equal(composeSubject('attack', subj), 'host.example.org 2025-11-22 11:02 +0000 Security Alerts');
  assert.equal(
    composeSubject('attack', { ...subj, reboot: true }),
    'Reboot: host.example.org 2025-11-22 11:02 +0000 Security Alerts',
  );
  assert.equal(
    composeSubject('attack', { ...subj, addTag: true, attackSubject: 'PORTSCAN / ATTACK ALERTS' }),
    '[logcheck] host.example.org 2025-11-22 11:02 +0000 PORTSCAN / ATTACK ALERTS',
  );
  assert.equal(composeSubject('security', subj), 'host.example.org 2025-11-22 11:02 +0000 Security Events');
  assert.equal(composeSubject('system', subj), 'host.example.org 2025-11-22 11:02 +0000 System Events');
  // The tag goes before the reboot mark.
  assert.equal(
    composeSubject('system', { ...subj, addTag: true, reboot: true }),
    '[logcheck] Reboot: host.example.org 2025-11-22 11:02 +0000 System Events',
  );
  for (const eml of readdirSync(EXPECTED).filter((f) => f.endsWith('.eml'))) {
    const m = /^Subject: (.*)$/m.exec(readFileSync(join(EXPECTED, eml), 'utf8'));
    const want = eml.includes('addtag')
      ? composeSubject('attack', { ...subj, addTag: true, attackSubject: 'PORTSCAN / ATTACK ALERTS' })
      : composeSubject('attack', { ...subj, reboot: eml.includes('reboot') });
    assert.equal(m?.[1], want, eml);
  }
});

test('custom ATTACKSUBJECT also names the sections (mail-server-addtag.eml)', () => {
  const eml = readFileSync(join(EXPECTED, 'mail-server-addtag.eml'), 'utf8');
  assert.match(eml, /^PORTSCAN \/ ATTACK ALERTS for kernel$/m);
});

test('failure mail subject', () => {
  assert.equal(
    errorSubject('host', '2025-11-22 11:02 +0000'),
    'Logcheck: host 2025-11-22 11:02 +0000 exiting due to errors',
  );
});
