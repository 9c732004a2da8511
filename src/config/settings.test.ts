import { test } from 'node:test';
import { loadSettingsFile } from './load-settings.ts';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfText } from './conf-file.ts';
import { formatDiagnostic } from './diagnostic.ts';
import { KEY_DEFINITIONS } from './keys.ts';
import { applyReload, MAX_PORT_BANNER_BYTES, settingName, settingsFromConf } from './settings.ts';

const F = '/t/portsentry.conf';
const load = (text: string) => settingsFromConf(parseConfText(F, text));
const problems = (text: string) => load(text).diagnostics.map(formatDiagnostic);

test('built-in defaults are Debian 12 portsentry.conf', () => {
  const { settings, diagnostics } = settingsFromConf(null);
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(
    settings.tcpPorts,
    [
      1, 11, 15, 79, 111, 119, 143, 540, 635, 1080, 1524, 2000, 5742, 6667, 12345, 12346, 20034, 27665, 31337,
      32771, 32772, 32773, 32774, 40421, 49724, 54320,
    ],
  );
  assert.deepEqual(
    settings.udpPorts,
    [
      1, 7, 9, 69, 161, 162, 513, 635, 640, 641, 700, 37444, 34555, 31335, 32770, 32771, 32772, 32773, 32774,
      31337, 54321,
    ],
  );
  assert.equal(settings.advancedPortsTcp, 1024);
  assert.deepEqual(settings.advancedExcludeUdp, [520, 138, 137, 67]);
  assert.equal(settings.ignoreFile, '/etc/portsentry/portsentry.ignore');
  assert.equal(settings.historyFile, '/var/lib/portsentry/portsentry.history');
  assert.equal(settings.blockedFile, '/var/lib/portsentry/portsentry.blocked');
  assert.equal(settings.blockTcp, 0);
  assert.equal(settings.blockUdp, 0);
  assert.equal(settings.resolveHost, false);
  assert.equal(settings.killRoute?.text, '/sbin/route add -host $TARGET$ reject');
  assert.deepEqual(settings.killRoute?.steps, [['/sbin/route', 'add', '-host', '$TARGET$', 'reject']]);
  assert.equal(settings.killHostsDeny, 'ALL: $TARGET$ : DENY');
  assert.equal(settings.killRunCmd, null);
  assert.equal(settings.scanTrigger, 0);
  assert.equal(settings.portBanner, null);
  assert.equal(settings.hostsDenyFile, '/etc/hosts.deny');
  assert.equal(settings.syslogSocket, '/dev/log');
  assert.equal(settings.syslogIdent, 'portsnare');
  assert.equal(settings.stateDir, '/var/lib/portsnare');
});

test('every key of PortSentry 1.2 is known', () => {
  const keys = new Set(KEY_DEFINITIONS.map((k) => k.name));
  for (const key of [
    'TCP_PORTS',
    'UDP_PORTS',
    'ADVANCED_PORTS_TCP',
    'ADVANCED_PORTS_UDP',
    'ADVANCED_EXCLUDE_TCP',
    'ADVANCED_EXCLUDE_UDP',
    'IGNORE_FILE',
    'HISTORY_FILE',
    'BLOCKED_FILE',
    'RESOLVE_HOST',
    'BLOCK_UDP',
    'BLOCK_TCP',
    'KILL_ROUTE',
    'KILL_HOSTS_DENY',
    'KILL_RUN_CMD',
    'KILL_RUN_CMD_FIRST',
    'SCAN_TRIGGER',
    'PORT_BANNER',
  ]) {
    assert.ok(keys.has(key), key);
  }
});

test('2.x port ranges are expanded; spaces after commas work as in 1.2', () => {
  const { settings, diagnostics } = load('TCP_PORTS="1-3, 10,20-21"\n');
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(settings.tcpPorts, [1, 2, 3, 10, 20, 21]);
});

test('bad ports are errors with file, line and key', () => {
  assert.deepEqual(problems('\nTCP_PORTS="1,abc,3"'), [
    `error: ${F}:2: TCP_PORTS: "abc" is not a port or a range a-b (PortSentry 1.2 would have watched a random port)`,
  ]);
  assert.deepEqual(problems('UDP_PORTS="0"'), [
    `error: ${F}:1: UDP_PORTS: port 0 in "0" is out of range 1-65535`,
  ]);
  assert.deepEqual(problems('UDP_PORTS="70000"'), [
    `error: ${F}:1: UDP_PORTS: port 70000 in "70000" is out of range 1-65535`,
  ]);
  assert.deepEqual(problems('UDP_PORTS="20-10"'), [`error: ${F}:1: UDP_PORTS: range "20-10" runs backwards`]);
  assert.deepEqual(problems('UDP_PORTS="-5"'), [
    `error: ${F}:1: UDP_PORTS: "-5" is not a port or a range a-b (PortSentry 1.2 would have watched a random port)`,
  ]);
});

test('over 64 ports is accepted with a warning that 1.2 would not', () => {
  const list = Array.from({ length: 70 }, (_, i) => i + 1).join(',');
  const loaded = load(`TCP_PORTS="${list}"`);
  assert.equal(loaded.settings.tcpPorts.length, 70);
  assert.deepEqual(loaded.diagnostics.map(formatDiagnostic), [
    `warning: ${F}:1: TCP_PORTS: 70 entries: PortSentry 1.2 would silently use only the first 64; portsnare uses them all`,
  ]);
});

test('numbers, block levels and paths are checked', () => {
  assert.deepEqual(problems('SCAN_TRIGGER="x"'), [
    `error: ${F}:1: SCAN_TRIGGER: "x" is not a whole number (PortSentry 1.2 would read it as 0)`,
  ]);
  assert.deepEqual(problems('BLOCK_TCP="3"'), [
    `error: ${F}:1: BLOCK_TCP: 3 is out of range: must be 0 to 2 (0, 1 or 2 (PortSentry 1.2 silently did not block on other values))`,
  ]);
  assert.deepEqual(problems('HISTORY_FILE="var/x"'), [
    `error: ${F}:1: HISTORY_FILE: "var/x" is not an absolute path`,
  ]);
  assert.deepEqual(problems('SYSLOG_IDENT="port sentry"'), [
    `error: ${F}:1: SYSLOG_IDENT: must be 1-32 letters, digits, ".", "_" or "-"`,
  ]);
});

test('templates: $TARGET$ is required where 1.2 required it, shell syntax is refused', () => {
  assert.deepEqual(problems('KILL_ROUTE="/sbin/route add -host reject"'), [
    `error: ${F}:1: KILL_ROUTE: has no $TARGET$ macro, so it could never block anyone`,
  ]);
  assert.deepEqual(problems('KILL_HOSTS_DENY="ALL: everyone"'), [
    `error: ${F}:1: KILL_HOSTS_DENY: has no $TARGET$ macro, so it could never block anyone`,
  ]);
  const [redirect] = problems('KILL_RUN_CMD="/bin/echo $TARGET$ >> /tmp/x"');
  assert.match(
    redirect ?? '',
    /^error: \/t\/portsentry.conf:1: KILL_RUN_CMD: a redirection ">" needs a shell/,
  );
  assert.deepEqual(problems('KILL_RUN_CMD="/bin/logger scan from $TARGET$ on $PORT$"'), []);
});

test('blocking with nothing to run is a warning', () => {
  assert.deepEqual(problems('BLOCK_UDP="2"'), [
    `warning: ${F}:1: BLOCK_UDP: is 2 but KILL_RUN_CMD is empty, so nothing will run`,
  ]);
});

test('loadSettingsFile: no file at the default path means defaults; a named missing file is an error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-settings-'));
  const missing = join(dir, 'nope.conf');
  const explicit = await loadSettingsFile(missing);
  assert.deepEqual(explicit.diagnostics.map(formatDiagnostic), [`error: ${missing}: no such file`]);
  const path = join(dir, 'portsentry.conf');
  await writeFile(path, 'SCAN_TRIGGER="3"\n');
  const found = await loadSettingsFile(path);
  assert.equal(found.path, path);
  assert.equal(found.settings.scanTrigger, 3);
  assert.deepEqual(found.sources.find((s) => s.key === 'SCAN_TRIGGER')?.origin, { file: path, line: 1 });
});

test('blocking keys: BLOCK_BACKEND, BLOCK_TIME, UNKILL_ROUTE (written or derived), MAX_TRACKED_SOURCES', () => {
  const defaults = settingsFromConf(null).settings;
  assert.equal(defaults.blockBackend, 'auto');
  assert.equal(defaults.blockTime, 0);
  assert.equal(defaults.maxTrackedSources, 65536);
  // Debian's KILL_ROUTE has a well-known undo.
  assert.equal(defaults.unkillRoute?.text, '/sbin/route del -host $TARGET$ reject');
  assert.equal(defaults.unkillRouteDerived, true);

  const written = load(
    'BLOCK_BACKEND="both"\nBLOCK_TIME="3600"\nUNKILL_ROUTE="/usr/local/bin/undrop $TARGET$"\n',
  );
  assert.deepEqual(written.diagnostics, []);
  assert.equal(written.settings.blockBackend, 'both');
  assert.equal(written.settings.blockTime, 3600);
  assert.deepEqual(written.settings.unkillRoute?.steps, [['/usr/local/bin/undrop', '$TARGET$']]);
  assert.equal(written.settings.unkillRouteDerived, false);

  assert.deepEqual(
    problems(
      'BLOCK_BACKEND="iptables"\nBLOCK_TIME="100000000"\nUNKILL_ROUTE="/sbin/route del"\nMAX_TRACKED_SOURCES="1"\n',
    ),
    [
      `error: ${F}:1: BLOCK_BACKEND: "iptables" is not one of auto, nft, classic, both`,
      `error: ${F}:2: BLOCK_TIME: 100000000 is out of range: must be 0 to 99999999 (seconds, 0 until unblocked; nft accepts at most 99999999 s (3.17 years))`,
      `error: ${F}:4: MAX_TRACKED_SOURCES: 1 is out of range: must be 2 to 16777216 (at least 2; 16 Mi sources already cost several GB of memory)`,
      `error: ${F}:3: UNKILL_ROUTE: has no $TARGET$ macro, so it could never unblock anyone`,
    ],
  );
  // Timed bans with a KILL_ROUTE nobody can undo: a warning, naming the line.
  assert.deepEqual(problems('BLOCK_TIME="60"\nKILL_ROUTE="/usr/local/bin/drop $TARGET$"\n'), [
    `warning: ${F}:2: KILL_ROUTE: BLOCK_TIME is set but UNKILL_ROUTE is empty and cannot be derived from this command: routes it adds will stay when bans end`,
  ]);
  assert.deepEqual(
    problems('BLOCK_TIME="60"\nBLOCK_BACKEND="nft"\nKILL_ROUTE="/usr/local/bin/drop $TARGET$"\n'),
    [],
  );
});

test('every key names its Settings property; a reload keeps the restart-only ones and names them', () => {
  const defaults = settingsFromConf(null).settings;
  for (const def of KEY_DEFINITIONS) {
    assert.ok(settingName(def.name) in defaults, `${def.name} -> ${settingName(def.name)}`);
  }
  const after = load(
    'TCP_PORTS="1,2"\nBLOCK_BACKEND="classic"\nBLOCK_TIME="60"\nSCAN_TRIGGER="2"\n',
  ).settings;
  const { settings, changed } = applyReload(defaults, after);
  assert.deepEqual(changed, ['TCP_PORTS', 'BLOCK_BACKEND']);
  assert.deepEqual(settings.tcpPorts, defaults.tcpPorts);
  assert.equal(settings.blockBackend, 'auto');
  assert.equal(settings.blockTime, 60, 'the rest applies at once');
  assert.equal(settings.scanTrigger, 2);
});

test('every numeric key has a documented range that holds its default', () => {
  for (const def of KEY_DEFINITIONS) {
    if (def.kind !== 'count' && def.kind !== 'flag' && def.kind !== 'block') continue;
    assert.ok(def.range, `${def.name} has a range`);
    assert.ok(def.range.why.length > 0 && !def.range.why.includes('\n'), `${def.name}: one-line doc`);
    const n = Number(def.default);
    assert.ok(n >= def.range.min && n <= def.range.max, `${def.name} default ${n} in range`);
  }
});

test('a numeric value outside its range is an error naming file, line and key', () => {
  assert.deepEqual(problems('# c\nSTEALTH_TRIGGER_WINDOW="0"\n'), [
    `error: ${F}:2: STEALTH_TRIGGER_WINDOW: 0 is out of range: must be 1 to 86400 (seconds, at least 1 (0 would detect nothing) and at most a day)`,
  ]);
  for (const [key, bad] of [
    ['STEALTH_TRIGGER_PORTS', '0'],
    ['STEALTH_TRIGGER_PORTS', '1025'],
    ['STEALTH_TRIGGER_WINDOW', '86401'],
    ['SCAN_TRIGGER', '1001'],
    ['MAX_BLOCKS_PER_MINUTE', '100001'],
    ['ADVANCED_PORTS_TCP', '65537'],
    ['ADVANCED_PORTS_UDP', '99999999999'],
    ['RESOLVE_HOST', '2'],
    ['KILL_RUN_CMD_FIRST', '7'],
    ['MAX_TRACKED_SOURCES', '16777217'],
    ['BLOCK_UDP', '3'],
  ] as const) {
    const got = problems(`${key}="${bad}"`);
    assert.equal(got.length, 1, `${key}=${bad}: ${got.join('; ')}`);
    assert.match(got[0] ?? '', new RegExp(`^error: ${F}:1: ${key}: ${bad} is out of range: must be `));
    // the bad value is not used: the default is
    const def = KEY_DEFINITIONS.find((k) => k.name === key);
    assert.ok(def);
  }
  // The edges are accepted.
  for (const ok of [
    'STEALTH_TRIGGER_WINDOW="1"',
    'STEALTH_TRIGGER_WINDOW="86400"',
    'STEALTH_TRIGGER_PORTS="1"',
    'SCAN_TRIGGER="1000"',
    'MAX_BLOCKS_PER_MINUTE="0"',
    'ADVANCED_PORTS_TCP="65536"',
    'BLOCK_TIME="99999999"',
    'MAX_TRACKED_SOURCES="2"',
  ]) {
    assert.deepEqual(problems(ok), [], ok);
  }
  assert.equal(load('STEALTH_TRIGGER_WINDOW="0"').settings.stealthTriggerWindow, 10, 'default kept');
});

test('Debian 12 shipped values are all accepted', () => {
  const debian = [
    'TCP_PORTS="1,11,15,79,111,119,143,540,635,1080,1524,2000,5742,6667,12345,12346,20034,27665,31337,32771,32772,32773,32774,40421,49724,54320"',
    'UDP_PORTS="1,7,9,69,161,162,513,635,640,641,700,37444,34555,31335,32770,32771,32772,32773,32774,31337,54321"',
    'ADVANCED_PORTS_TCP="1024"',
    'ADVANCED_PORTS_UDP="1024"',
    'ADVANCED_EXCLUDE_TCP="113,139"',
    'ADVANCED_EXCLUDE_UDP="520,138,137,67"',
    'IGNORE_FILE="/etc/portsentry/portsentry.ignore"',
    'HISTORY_FILE="/var/lib/portsentry/portsentry.history"',
    'BLOCKED_FILE="/var/lib/portsentry/portsentry.blocked"',
    'RESOLVE_HOST = "0"',
    'BLOCK_UDP="1"',
    'BLOCK_TCP="1"',
    'KILL_ROUTE="/sbin/route add -host $TARGET$ reject"',
    'KILL_HOSTS_DENY="ALL: $TARGET$ : DENY"',
    'SCAN_TRIGGER="0"',
  ];
  assert.deepEqual(problems(debian.join('\n')), []);
});

test('a PORT_BANNER above the limit is an error, not silently cut', () => {
  const big = 'x'.repeat(10 * 1024 * 1024);
  const loaded = load(`PORT_BANNER="${big}"\n`);
  assert.deepEqual(loaded.diagnostics.map(formatDiagnostic), [
    `error: ${F}:1: PORT_BANNER: is ${big.length} bytes; the limit is ${MAX_PORT_BANNER_BYTES} (PortSentry 1.2 silently cut it at its 1023-byte line length; portsnare does not cut it)`,
  ]);
  assert.deepEqual(problems(`PORT_BANNER="${'y'.repeat(MAX_PORT_BANNER_BYTES)}"`), []);
  // bytes, not characters
  assert.equal(problems(`PORT_BANNER="${'é'.repeat(600)}"`).length, 1);
});

test('the REPORT_ keys: addresses, the SMTP URL that smtp delivery needs, the password file with a user', () => {
  const defaults = settingsFromConf(null).settings;
  assert.deepEqual(defaults.reportMailTo, ['root']);
  assert.equal(defaults.reportDelivery, 'sendmail');
  assert.deepEqual(problems('REPORT_MAIL_TO="root, ops@example.org admin@mail.example.org"'), []);
  assert.deepEqual(load('REPORT_MAIL_TO="root, ops@example.org"').settings.reportMailTo, [
    'root',
    'ops@example.org',
  ]);
  assert.deepEqual(problems('\nREPORT_MAIL_TO="root -oQ/tmp"'), [
    `error: ${F}:2: REPORT_MAIL_TO: "-oQ/tmp" is not a mail address`,
  ]);
  assert.deepEqual(problems('REPORT_MAIL_FROM="a@example.org b@example.org"'), [
    `error: ${F}:1: REPORT_MAIL_FROM: "a@example.org b@example.org" is not one mail address`,
  ]);
  assert.deepEqual(problems('REPORT_DELIVERY="smtp"'), [
    `error: ${F}:1: REPORT_DELIVERY: is "smtp" but REPORT_SMTP_URL is empty`,
  ]);
  assert.deepEqual(problems('REPORT_DELIVERY="smtp"\nREPORT_SMTP_URL="smtp://mail.example.org:587"'), []);
  assert.deepEqual(problems('REPORT_SMTP_URL="http://mail.example.org"'), [
    `error: ${F}:1: REPORT_SMTP_URL: "http://mail.example.org": the scheme must be smtp:// or smtps://`,
  ]);
  assert.match(problems('REPORT_SMTP_URL="smtp://u:p@mail.example.org"')[0] ?? '', /not in the URL/);
  assert.deepEqual(problems('REPORT_SMTP_USER="u"'), [
    `error: ${F}:1: REPORT_SMTP_USER: is set but REPORT_SMTP_PASSWORD_FILE is empty`,
  ]);
  assert.deepEqual(problems('REPORT_FORMAT="pdf"'), [
    `error: ${F}:1: REPORT_FORMAT: "pdf" is not one of text, html, json`,
  ]);
  assert.match(problems('REPORT_ALERT_INTERVAL="5"')[0] ?? '', /REPORT_ALERT_INTERVAL: 5 is out of range/);
});
