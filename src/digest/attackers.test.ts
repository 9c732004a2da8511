import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { formatMessage, type LogMessage } from '../report/messages.ts';
import { sentryEvent } from './attacker-lines.ts';
import { AttackerTable, formatPortRanges, type AttackerRow } from './attackers.ts';
import { parseSyslogLine } from './syslog-line.ts';

const NOW = new Date(2025, 10, 23, 12, 0, 0);
const FIXTURE = new URL('../../test/fixtures/logcheck/input/sample.log', import.meta.url);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** Local time on 22 Nov 2025, `seconds` after 10:00:00. */
const at = (seconds: number) => new Date(2025, 10, 22, 10, 0, seconds);

/** A syslog line as rsyslog writes it to a file: RFC 3164 head with the host name. */
function syslog(seconds: number, program: string, message: string, pid: number | null = 42): string {
  const d = at(seconds);
  const stamp = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return `${stamp} host ${program}${pid === null ? '' : `[${pid}]`}: ${message}`;
}

/** A portsnare (or portsentry) line, its text from the one formatter the daemon uses. */
const daemon = (seconds: number, m: LogMessage, ident = 'portsnare', pid = 42) =>
  syslog(seconds, ident, formatMessage(m), pid);

function rowOf(table: AttackerTable, address: string): AttackerRow {
  const row = table.rows().find((r) => r.address === address);
  assert.ok(row, `no row for ${address}`);
  return row;
}

function feed(table: AttackerTable, lines: readonly string[]): boolean[] {
  return lines.map((l) => table.add(l));
}

test('the logcheck fixture: five sources, most severe first, every attacker line consumed', () => {
  const table = new AttackerTable({ now: NOW });
  const lines = readFileSync(FIXTURE, 'utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, 229);
  const consumed = lines.filter((l) => table.add(l));
  // 67 portsentry attackalert lines, 38 sshd lines of failed logins, 1 firewall drop.
  assert.equal(consumed.filter((l) => l.includes(' portsentry[')).length, 67);
  assert.equal(consumed.filter((l) => l.includes(' sshd[')).length, 38);
  assert.equal(consumed.filter((l) => l.includes(' kernel: ')).length, 1);
  assert.equal(consumed.length, 106);
  // Not consumed: startup, listen mode, a good login, a pre-auth disconnect of a non-ssh attacker.
  assert.ok(!consumed.some((l) => l.includes('listen mode') || l.includes('is starting')));
  assert.ok(!consumed.some((l) => l.includes('Accepted publickey') || l.includes('Oversized packet')));
  assert.ok(
    !consumed.includes('Nov 22 10:15:15 host sshd[3030]: Connection closed by 203.0.113.9 port 40222'),
  );

  const rows = table.rows();
  assert.deepEqual(
    rows.map((r) => r.address),
    ['203.0.113.9', '203.0.113.66', '192.0.2.200', '198.51.100.7', '198.51.100.23'],
  );
  const [nine, sixtySix, named, udp, ssh] = rows as [
    AttackerRow,
    AttackerRow,
    AttackerRow,
    AttackerRow,
    AttackerRow,
  ];

  assert.equal(nine.hits, 23); // 22 connects and the UFW drop
  assert.equal(nine.repeatsAfterBlock, 21);
  assert.deepEqual(nine.kinds, ['TCP connect', 'firewall drop']);
  assert.deepEqual(nine.evidence, ['connect', 'firewall']);
  assert.equal(
    formatPortRanges(nine.ports),
    'TCP 1, 11, 15, 23, 79, 111, 119, 143, 540, 635, 1080, 1524, 2000, 5742, 6667, 12345, 20034, 27665, 31337',
  );
  assert.equal(nine.firstSeen, new Date(2025, 10, 22, 10, 15, 1).getTime());
  assert.equal(nine.lastSeen, new Date(2025, 10, 22, 10, 50, 21).getTime());
  assert.equal(nine.blockedAt, new Date(2025, 10, 22, 10, 15, 1).getTime());
  assert.deepEqual(nine.blockedVia, ['wrappers', 'route']);
  assert.equal(nine.blocks, 1); // wrappers and route at one moment are one block
  assert.equal(nine.stillBlocked, true);
  assert.equal(nine.unblocked, null);
  assert.deepEqual(nine.names, []);

  assert.deepEqual(sixtySix.kinds, [
    'TCP SYN/Normal scan',
    'TCP FIN scan',
    'TCP NULL scan',
    'TCP XMAS scan',
    'TCP IP options',
  ]);
  assert.equal(sixtySix.hits, 5);
  assert.equal(sixtySix.repeatsAfterBlock, 3);
  assert.equal(formatPortRanges(sixtySix.ports), 'TCP 23, 25, 80, 110, 443');

  // `192.0.2.200/scanner.example.net`: the address on the left, the name on the right.
  assert.deepEqual(named.names, ['scanner.example.net']);
  assert.deepEqual(named.blockedVia, ['wrappers', 'route', 'command']);
  assert.equal(named.hits, 1);

  assert.equal(formatPortRanges(udp.ports), 'UDP 7, 9, 69, 161');
  assert.deepEqual(udp.refusals, ['UDP response off in the configuration']);
  assert.equal(udp.blockedAt, null);
  assert.equal(udp.stillBlocked, false);

  // Six invalid users with one password each and three passwords for root: nine attempts.
  assert.equal(ssh.hits, 9);
  assert.deepEqual(ssh.kinds, ['sshd invalid user', 'sshd failed password']);
  assert.deepEqual(ssh.sshUsers, ['admin', 'guest', 'oracle', 'postgres', 'root', 'test', 'ubuntu']);
  assert.deepEqual(ssh.ports, []);
  assert.equal(ssh.lastSeen, new Date(2025, 10, 22, 10, 5, 51).getTime());
  assert.equal(table.size, 5);
  assert.equal(table.overflow, 0);
});

test('every probe text of the formatter, under both idents, in every host form', () => {
  const table = new AttackerTable({ now: NOW });
  const common = { host: '203.0.113.5', address: '203.0.113.5' };
  const results = feed(table, [
    daemon(1, { kind: 'connect', protocol: 'tcp', port: 1, ...common }, 'portsentry'),
    daemon(2, { kind: 'connect', protocol: 'udp', port: 7, ...common }),
    daemon(3, { kind: 'stealthScan', protocol: 'tcp', label: 'TCP SYN/Normal scan', port: 2, ...common }),
    daemon(4, { kind: 'stealthScan', protocol: 'tcp', label: ' TCP NULL scan', port: 3, ...common }),
    daemon(5, { kind: 'stealthScan', protocol: 'tcp', label: 'TCP FIN scan', port: 4, ...common }),
    daemon(6, { kind: 'stealthScan', protocol: 'tcp', label: 'TCP XMAS scan', port: 5, ...common }),
    daemon(7, {
      kind: 'stealthScan',
      protocol: 'tcp',
      label: 'Unknown Type: TCP Packet Flags: SYN: 1 FIN: 1 ACK: 0 PSH: 0 URG: 0 RST: 0',
      port: 11,
      ...common,
    }),
    daemon(8, { kind: 'stealthScan', protocol: 'udp', label: '', port: 8, ...common }),
    // The IP-options line 1.2 logs beside the scan line of the same packet is not a second hit.
    daemon(9, { kind: 'stealthScan', protocol: 'tcp', label: 'TCP SYN/Normal scan', port: 13, ...common }),
    daemon(9, { kind: 'ipOptions', protocol: 'tcp', port: 13, ...common }),
    // ... in either order.
    daemon(10, { kind: 'ipOptions', protocol: 'udp', port: 9, ...common }),
    daemon(10, { kind: 'stealthScan', protocol: 'udp', label: '', port: 9, ...common }),
    daemon(11, { kind: 'illegalHeaderLength', protocol: 'tcp', ihl: 3, address: '203.0.113.5' }),
    daemon(12, {
      kind: 'connect',
      protocol: 'tcp',
      port: 12,
      host: 'scan.example.org',
      address: '203.0.113.5',
    }),
  ]);
  assert.deepEqual(results, Array<boolean>(results.length).fill(true));
  const row = rowOf(table, '203.0.113.5');
  assert.deepEqual(row.kinds, [
    'TCP connect',
    'UDP connect',
    'TCP SYN/Normal scan',
    'TCP NULL scan',
    'TCP FIN scan',
    'TCP XMAS scan',
    'TCP unknown-flags scan (SYN FIN)',
    'UDP scan',
    'TCP IP options',
    'UDP IP options',
    'TCP illegal IP header length',
  ]);
  assert.deepEqual(row.evidence, ['connect', 'scan', 'ipOptions']);
  assert.equal(row.hits, 12);
  assert.equal(formatPortRanges(row.ports), 'TCP 1-5, 11-13; UDP 7-9');
  assert.deepEqual(row.names, ['scan.example.org']);
  assert.equal(table.size, 1);
});

test('IPv6 sources are canonical, whatever form the line carries', () => {
  const table = new AttackerTable({ now: NOW });
  const v6 = { host: '2001:DB8::0:1', address: '2001:DB8::0:1' };
  feed(table, [
    daemon(1, { kind: 'connect', protocol: 'tcp', port: 1, ...v6 }),
    daemon(2, { kind: 'alreadyBlocked', mode: 'stcp', host: 'six.example.net', address: '2001:db8::1' }),
    syslog(
      3,
      'kernel',
      '[ 12.5] nft drop: IN=eth0 OUT= MAC=00 SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:db8::2 LEN=80 TC=0 HOPLIMIT=52 FLOWLBL=0 PROTO=TCP SPT=5 DPT=2 WINDOW=1 RES=0x00 SYN URGP=0',
      null,
    ),
    daemon(4, {
      kind: 'connect',
      protocol: 'tcp',
      port: 3,
      host: '::ffff:192.0.2.9',
      address: '::ffff:192.0.2.9',
    }),
  ]);
  assert.deepEqual(
    table.rows().map((r) => r.address),
    ['2001:db8::1', '192.0.2.9'],
  );
  const row = rowOf(table, '2001:db8::1');
  assert.equal(row.hits, 2);
  assert.equal(row.repeatsAfterBlock, 1);
  assert.deepEqual(row.names, ['six.example.net']);
  assert.equal(formatPortRanges(row.ports), 'TCP 1-2');
});

test('blocks by each backend, "already blocked", lifts and expiries', () => {
  const table = new AttackerTable({ now: NOW });
  const a = '198.51.100.1';
  const b = '198.51.100.2';
  const c = '198.51.100.3';
  const d = '198.51.100.4';
  const results = feed(table, [
    // a: wrappers and route at one moment, then 1.2's two "already blocked" spellings.
    daemon(1, { kind: 'connect', protocol: 'tcp', port: 1, host: a, address: a }, 'portsentry'),
    daemon(1, { kind: 'blockedWrappers', address: a, line: `ALL: ${a} : DENY` }, 'portsentry'),
    daemon(
      1,
      { kind: 'blockedRoute', address: a, command: `/sbin/route add -host ${a} reject` },
      'portsentry',
    ),
    daemon(2, { kind: 'alreadyBlocked', mode: 'tcp', host: a, address: a }, 'portsentry'),
    daemon(3, { kind: 'alreadyBlocked', mode: 'atcp', host: a, address: a }, 'portsentry'),
    // b: an nftables ban for an hour (expired long before NOW), an expiry line, a manual block.
    daemon(4, { kind: 'blockedNft', address: b, set: 'portsnare_v4', seconds: 3600 }),
    daemon(3604, { kind: 'banLifted', address: b, reason: 'expired', backends: 'nftables' }),
    daemon(3700, { kind: 'manualBlock', address: b, seconds: null }),
    // c: a timed ban with no lift line, and KILL_RUN_CMD beside it.
    daemon(5, { kind: 'blockedNft', address: c, set: 'portsnare_v4', seconds: 600 }),
    daemon(6, { kind: 'externalCommand', address: c, command: '/usr/local/bin/tell' }),
    // d: blocked, then unblocked on request; then a reload that refuses to keep a ban.
    daemon(7, { kind: 'blockedNft', address: d, set: 'portsnare_v4', seconds: null }),
    daemon(8, { kind: 'banLifted', address: d, reason: 'unblocked', backends: '' }),
    daemon(9, { kind: 'manualBlock', address: d, seconds: 60 }),
    daemon(10, {
      kind: 'banRefused',
      address: d,
      reason: 'it is never blocked',
      backends: 'nftables',
      at: 'reload',
    }),
  ]);
  assert.deepEqual(results, Array<boolean>(results.length).fill(true));

  const ra = rowOf(table, a);
  assert.deepEqual(ra.blockedVia, ['wrappers', 'route']);
  assert.equal(ra.blocks, 1);
  assert.equal(ra.repeatsAfterBlock, 2);
  assert.equal(ra.stillBlocked, true);
  assert.equal(ra.hits, 1);

  const rb = rowOf(table, b);
  assert.deepEqual(rb.blockedVia, ['nftables', 'manual']);
  assert.equal(rb.blocks, 2);
  assert.equal(rb.blockedAt, at(4).getTime());
  assert.equal(rb.unblocked, at(3604).getTime());
  assert.equal(rb.stillBlocked, true); // the manual block is until unblocked
  assert.equal(rb.hits, 0);

  const rc = rowOf(table, c);
  // A command run beside a timed ban does not make the ban last: it ran out by NOW.
  assert.deepEqual(rc.blockedVia, ['nftables', 'command']);
  assert.equal(rc.stillBlocked, false);
  assert.equal(rc.blocks, 1);

  const rd = rowOf(table, d);
  assert.equal(rd.blocks, 2);
  assert.equal(rd.stillBlocked, false);
  assert.equal(rd.unblocked, at(10).getTime());
  assert.deepEqual(rd.blockedVia, ['nftables', 'manual']);
});

test('a timed ban without a lift line has run out by now', () => {
  const table = new AttackerTable({ now: NOW });
  table.add(daemon(5, { kind: 'blockedNft', address: '192.0.2.77', set: 's', seconds: 600 }));
  const row = rowOf(table, '192.0.2.77');
  assert.equal(row.stillBlocked, false);
  assert.equal(row.unblocked, null);
  const later = new AttackerTable({ now: at(300) });
  later.add(daemon(5, { kind: 'blockedNft', address: '192.0.2.77', set: 's', seconds: 600 }));
  assert.equal(rowOf(later, '192.0.2.77').stillBlocked, true);
});

test('a timed ban that ran out without a lift line, then a new one: two blocks', () => {
  const table = new AttackerTable({ now: NOW });
  const x = '192.0.2.79';
  feed(table, [
    daemon(0, { kind: 'externalCommand', address: x, command: '/usr/local/bin/tell' }),
    daemon(0, { kind: 'blockedNft', address: x, set: 's', seconds: 60 }),
    daemon(30, { kind: 'blockedWrappers', address: x, line: `ALL: ${x}` }),
    daemon(100, { kind: 'blockedNft', address: x, set: 's', seconds: 60 }),
  ]);
  const row = rowOf(table, x);
  // The command before the ban does not make it last for good; wrappers at 30 s do.
  assert.equal(row.blocks, 1);
  assert.equal(row.stillBlocked, true);
  const timed = new AttackerTable({ now: NOW });
  feed(timed, [
    daemon(0, { kind: 'externalCommand', address: x, command: '/usr/local/bin/tell' }),
    daemon(0, { kind: 'blockedNft', address: x, set: 's', seconds: 60 }),
    daemon(100, { kind: 'blockedNft', address: x, set: 's', seconds: 60 }),
  ]);
  const again = rowOf(timed, x);
  assert.equal(again.blocks, 2);
  assert.equal(again.blockedAt, at(0).getTime());
  assert.equal(again.stillBlocked, false); // the second ban ran out at 160 s
  assert.deepEqual(again.blockedVia, ['command', 'nftables']);
});

test('a lift older than the block (files read out of order) does not undo it', () => {
  const table = new AttackerTable({ now: NOW });
  table.add(daemon(100, { kind: 'manualBlock', address: '192.0.2.78', seconds: null }));
  table.add(
    daemon(50, { kind: 'banLifted', address: '192.0.2.78', reason: 'flushed', backends: 'nftables' }),
  );
  const row = rowOf(table, '192.0.2.78');
  assert.equal(row.stillBlocked, true);
  assert.equal(row.firstSeen, at(50).getTime());
  assert.equal(row.unblocked, at(50).getTime());
});

test('refusals and failed responses carry their reasons', () => {
  const table = new AttackerTable({ now: NOW });
  const x = '203.0.113.200';
  const results = feed(table, [
    daemon(1, {
      kind: 'refusedBlock',
      address: x,
      reason: 'MAX_BLOCKS_PER_MINUTE reached',
      intervalSeconds: 60,
    }),
    daemon(2, { kind: 'couldNotBlock', mode: 'tcp', host: x, address: x }, 'portsentry'),
    daemon(3, { kind: 'couldNotBlock', mode: 'stcp', host: 'h.example', address: x }, 'portsentry'),
    daemon(4, { kind: 'couldNotBlock', mode: 'audp', host: x, address: x }, 'portsentry'),
    daemon(5, { kind: 'blockError', address: x }, 'portsentry'),
    daemon(6, { kind: 'runCommandError', address: x }, 'portsentry'),
    daemon(7, { kind: 'hostsDenyBlockError', address: x }, 'portsentry'),
    daemon(8, { kind: 'actionFailedDetail', key: 'KILL_ROUTE', address: x, reason: 'exit status 2' }),
    daemon(9, { kind: 'banRefused', address: x, reason: 'it is a gateway', backends: '', at: 'restore' }),
  ]);
  assert.deepEqual(results, Array<boolean>(results.length).fill(true));
  const row = rowOf(table, x);
  assert.deepEqual(row.refusals, [
    'MAX_BLOCKS_PER_MINUTE reached',
    'could not block',
    'block command failed (exec fail)',
    'external command failed (exec fail)',
    'hosts.deny could not be written',
    'KILL_ROUTE failed: exit status 2',
    'ban not restored: it is a gateway',
  ]);
  assert.deepEqual(row.names, ['h.example']);
  assert.equal(row.unblocked, at(9).getTime());
  assert.equal(row.hits, 0);
});

test('daemon lines about no one source are not attacker evidence', () => {
  const table = new AttackerTable({ now: NOW });
  const messages: LogMessage[] = [
    { kind: 'starting', version: '1.2' },
    { kind: 'listen', protocol: 'tcp', port: 1 },
    { kind: 'active' },
    { kind: 'acceptFailed', port: 1 },
    { kind: 'stealthListen', protocol: 'udp', port: 7 },
    {
      kind: 'forgedEvidence',
      seconds: 10,
      probes: 5000,
      sourcesPerSecond: 400,
      ratePerSecond: 0.5,
      bar: 9,
      passed: 3,
      capped: 1,
    },
    { kind: 'blockCapReached', limit: 10, evidence: 'packet' },
    { kind: 'bansLiftedMore', count: 4, reason: 'expired' },
    { kind: 'unblockFailed', address: '192.0.2.1', backend: 'nftables', reason: 'no such set' },
    { kind: 'shuttingDownAdmin' },
    { kind: 'counters', counters: { probes: 3 } },
    // 1.2 says this right after a probe line of the same process; alone it names no one.
    { kind: 'ignoringResponse', protocol: 'tcp' },
  ];
  for (const m of messages) assert.equal(table.add(daemon(1, m)), false, m.kind);
  assert.equal(
    table.add(syslog(1, 'portsentry', 'attackalert: ERROR: cannot open ignore file. Blocking host anyway.')),
    false,
  );
  assert.equal(table.size, 0);
});

test('"Ignoring response" belongs to the last probe of the same process', () => {
  const table = new AttackerTable({ now: NOW });
  feed(table, [
    daemon(
      1,
      { kind: 'connect', protocol: 'udp', port: 7, host: '192.0.2.50', address: '192.0.2.50' },
      'portsentry',
      7,
    ),
    daemon(
      1,
      { kind: 'connect', protocol: 'tcp', port: 7, host: '192.0.2.51', address: '192.0.2.51' },
      'portsentry',
      8,
    ),
    daemon(1, { kind: 'ignoringResponse', protocol: 'udp' }, 'portsentry', 7),
  ]);
  assert.deepEqual(rowOf(table, '192.0.2.50').refusals, ['UDP response off in the configuration']);
  assert.deepEqual(rowOf(table, '192.0.2.51').refusals, []);
});

test('sshd: one attempt counts once, whichever lines it leaves', () => {
  const table = new AttackerTable({ now: NOW });
  const a = '192.0.2.31';
  const lines = [
    // An invalid user, one password: five lines, one attempt (the `Invalid user` line counts).
    syslog(1, 'sshd-session', `Invalid user  from ${a} port 4000`, 10),
    syslog(1, 'sshd-session', 'pam_unix(sshd:auth): check pass; user unknown', 10),
    syslog(
      1,
      'sshd-session',
      `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${a}`,
      10,
    ),
    syslog(2, 'sshd-session', `Failed password for invalid user  from ${a} port 4000 ssh2`, 10),
    syslog(2, 'sshd-session', `Connection closed by invalid user  ${a} port 4000 [preauth]`, 10),
    // An invalid user who gives up before a password: one attempt.
    syslog(3, 'sshd', `Invalid user pi from ${a} port 4001`, 11),
    syslog(3, 'sshd', `Connection closed by invalid user pi ${a} port 4001 [preauth]`, 11),
    // Keys and passwords for a real user: each Failed line is an attempt; rsyslog folds two of them.
    syslog(4, 'sshd', `Failed publickey for git from ${a} port 4002 ssh2: RSA SHA256:abc`, 12),
    syslog(
      5,
      'sshd',
      `message repeated 2 times: [ Failed publickey for git from ${a} port 4002 ssh2: RSA SHA256:abc]`,
      12,
    ),
    syslog(6, 'sshd', `Failed none for git from ${a} port 4002 ssh2`, 12),
    syslog(
      7,
      'sshd',
      `error: maximum authentication attempts exceeded for git from ${a} port 4002 ssh2 [preauth]`,
      12,
    ),
    syslog(
      7,
      'sshd',
      `Disconnecting authenticating user git ${a} port 4002: Too many authentication failures [preauth]`,
      12,
    ),
    syslog(
      8,
      'sshd',
      `PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=${a}  user=git`,
      12,
    ),
    // A pre-auth disconnect counts as evidence only from a source already failing.
    syslog(9, 'sshd', `Received disconnect from ${a} port 4003:11: Bye Bye [preauth]`, 13),
    syslog(9, 'sshd', `Connection reset by ${a} port 4004 [preauth]`, 14),
  ];
  assert.deepEqual(feed(table, lines), Array<boolean>(lines.length).fill(true));
  const row = rowOf(table, a);
  assert.equal(row.hits, 6);
  assert.deepEqual(row.kinds, [
    'sshd invalid user',
    'sshd failed password',
    'sshd failed publickey',
    'sshd failed none',
  ]);
  assert.deepEqual(row.sshUsers, ['', 'git', 'pi']);
  assert.equal(row.lastSeen, at(9).getTime());
  assert.equal(row.severity > 3e9 && row.severity < 4e9, true);

  // Not failures: a good login, a disconnect of a source that never failed.
  assert.equal(table.add(syslog(10, 'sshd', 'Accepted password for bob from 192.0.2.32 port 1 ssh2')), false);
  assert.equal(table.add(syslog(10, 'sshd', 'Connection closed by 192.0.2.33 port 22 [preauth]')), false);
  assert.equal(table.add(syslog(10, 'sshd', 'Server listening on 0.0.0.0 port 22.')), false);
  assert.equal(table.size, 1);
});

test('sshd: a user list is capped at 20 names', () => {
  const table = new AttackerTable({ now: NOW });
  for (let i = 0; i < 30; i++)
    table.add(
      syslog(i, 'sshd', `Failed password for u${String(i).padStart(2, '0')} from 192.0.2.40 port 9 ssh2`),
    );
  const row = rowOf(table, '192.0.2.40');
  assert.equal(row.hits, 30);
  assert.equal(row.sshUsers.length, 20);
  assert.equal(row.sshUsers[19], 'u19');
});

test('kernel firewall lines: any prefix, drops only, ports for TCP and UDP', () => {
  const table = new AttackerTable({ now: NOW });
  const head = 'IN=eth0 OUT= MAC=52:54:00:12:34:56 ';
  const lines = [
    `[ 1.0] [UFW BLOCK] ${head}SRC=192.0.2.60 DST=192.0.2.10 LEN=44 PROTO=TCP SPT=40000 DPT=23 WINDOW=1024 SYN URGP=0`,
    `INPUT DROP: ${head}SRC=192.0.2.60 DST=192.0.2.10 LEN=28 PROTO=UDP SPT=5 DPT=161 LEN=8`,
    `[ 2.0] ${head}SRC=192.0.2.60 DST=192.0.2.10 LEN=28 PROTO=TCP SPT=5 DPT=24 SYN`,
    `[ 3.0] [UFW BLOCK] ${head}SRC=192.0.2.60 DST=192.0.2.10 LEN=84 PROTO=ICMP TYPE=8 CODE=0 ID=1 SEQ=1`,
  ];
  assert.deepEqual(
    lines.map((l, i) => table.add(syslog(i, 'kernel', l, null))),
    [true, true, true, true],
  );
  assert.equal(
    table.add(
      syslog(5, 'kernel', `[ 4.0] [UFW ALLOW] ${head}SRC=192.0.2.61 DST=192.0.2.10 PROTO=TCP DPT=22`, null),
    ),
    false,
  );
  assert.equal(
    table.add(syslog(5, 'kernel', '[ 4.0] Oversized packet received from 192.0.2.62', null)),
    false,
  );
  const row = rowOf(table, '192.0.2.60');
  assert.equal(row.hits, 4);
  assert.deepEqual(row.kinds, ['firewall drop']);
  assert.equal(formatPortRanges(row.ports), 'TCP 23-24; UDP 161');
  assert.equal(row.severity, 2e9 + 4);
  assert.equal(table.size, 1);
});

test('severity: still blocked, then lifted, then refused or probing, then ssh, then firewall', () => {
  const table = new AttackerTable({ now: NOW });
  const fw = (s: number, src: string) =>
    syslog(s, 'kernel', `IN=eth0 OUT= SRC=${src} DST=192.0.2.10 PROTO=TCP SPT=1 DPT=${s}`, null);
  feed(table, [
    ...Array.from({ length: 50 }, (_, i) => fw(i, '192.0.2.105')),
    ...Array.from({ length: 20 }, (_, i) =>
      syslog(i, 'sshd', `Failed password for root from 192.0.2.104 port ${i} ssh2`),
    ),
    daemon(1, { kind: 'refusedBlock', address: '192.0.2.103', reason: 'protected', intervalSeconds: 60 }),
    daemon(2, { kind: 'manualBlock', address: '192.0.2.102', seconds: null }),
    daemon(3, { kind: 'banLifted', address: '192.0.2.102', reason: 'unblocked', backends: 'nftables' }),
    daemon(4, { kind: 'manualBlock', address: '192.0.2.101', seconds: null }),
    daemon(5, { kind: 'banLifted', address: '192.0.2.106', reason: 'expired', backends: 'nftables' }),
    // Same tier and hits as .103: the earlier first seen goes first, so .100 (seen at 0) leads.
    daemon(0, { kind: 'refusedBlock', address: '192.0.2.100', reason: 'protected', intervalSeconds: 60 }),
  ]);
  assert.deepEqual(
    table.rows().map((r) => r.address),
    ['192.0.2.101', '192.0.2.102', '192.0.2.100', '192.0.2.103', '192.0.2.104', '192.0.2.105', '192.0.2.106'],
  );
  assert.equal(rowOf(table, '192.0.2.104').severity, 3e9 + 20);
});

test('formatPortRanges: ranges merged per protocol, TCP first', () => {
  assert.equal(formatPortRanges([]), '');
  assert.equal(
    formatPortRanges([
      { protocol: 'tcp', from: 1, to: 1 },
      { protocol: 'tcp', from: 11, to: 15 },
      { protocol: 'tcp', from: 79, to: 79 },
      { protocol: 'udp', from: 7, to: 7 },
    ]),
    'TCP 1, 11-15, 79; UDP 7',
  );
  const table = new AttackerTable({ now: NOW });
  for (const port of [65535, 0, 65534, 3, 1, 2])
    table.add(daemon(1, { kind: 'connect', protocol: 'udp', port, host: '192.0.2.9', address: '192.0.2.9' }));
  table.add(
    daemon(1, { kind: 'connect', protocol: 'tcp', port: 65535, host: '192.0.2.9', address: '192.0.2.9' }),
  );
  assert.deepEqual(rowOf(table, '192.0.2.9').ports, [
    { protocol: 'tcp', from: 65535, to: 65535 },
    { protocol: 'udp', from: 0, to: 3 },
    { protocol: 'udp', from: 65534, to: 65535 },
  ]);
});

test('addParsed takes a head the caller parsed; RFC 3339 stamps work through add', () => {
  const table = new AttackerTable({ now: NOW });
  const line =
    '2025-11-22T10:00:01.000000+00:00 host portsnare[9]: attackalert: Host 192.0.2.90 blocked on request until unblocked';
  const parsed = parseSyslogLine(line, NOW);
  assert.ok(parsed);
  assert.equal(table.addParsed(parsed, line), true);
  assert.equal(rowOf(table, '192.0.2.90').blockedAt, Date.UTC(2025, 10, 22, 10, 0, 1));
  assert.equal(table.add(line.replace('192.0.2.90', '192.0.2.91')), true);
  assert.equal(
    table.add(
      '2025-11-22T10:00:01Z host cron[1]: attackalert: Host 192.0.2.92 blocked on request until unblocked',
    ),
    false,
  );
  assert.equal(table.size, 2);
});

test('maxSources: new sources beyond it are counted, not stored', () => {
  const table = new AttackerTable({ now: NOW, maxSources: 3 });
  for (let i = 1; i <= 10; i++)
    for (let j = 0; j < 2; j++)
      assert.equal(
        table.add(
          daemon(i, {
            kind: 'connect',
            protocol: 'tcp',
            port: j,
            host: `192.0.2.${i}`,
            address: `192.0.2.${i}`,
          }),
        ),
        true,
      );
  assert.equal(table.size, 3);
  assert.equal(table.overflow, 7);
  assert.equal(table.overflowLines, 14);
  assert.equal(rowOf(table, '192.0.2.1').hits, 2);
  // Beyond 65536 untracked sources the count is an estimate, within a few per cent.
  const flood = new AttackerTable({ now: NOW, maxSources: 0 });
  for (let i = 0; i < 200_000; i++)
    flood.add(
      syslog(
        1,
        'kernel',
        `IN=eth0 OUT= SRC=10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} PROTO=TCP DPT=1`,
        null,
      ),
    );
  assert.equal(flood.size, 0);
  assert.ok(Math.abs(flood.overflow - 200_000) < 10_000, String(flood.overflow));
});

test('200,000 generated lines: counts add up', () => {
  const table = new AttackerTable({ now: NOW });
  let consumed = 0;
  let expectedConsumed = 0;
  const sources = 1000;
  for (let i = 0; i < 200_000; i++) {
    // Five lines in a row go to one source, so every source gets every kind of line.
    const k = Math.floor(i / 5) % sources;
    const src = `198.18.${k >> 8}.${k & 255}`;
    let line: string;
    switch (i % 5) {
      case 0:
        line = daemon(i % 3600, {
          kind: 'connect',
          protocol: 'tcp',
          port: i % 1024,
          host: src,
          address: src,
        });
        expectedConsumed++;
        break;
      case 1:
        line = daemon(
          i % 3600,
          { kind: 'alreadyBlocked', mode: 'tcp', host: src, address: src },
          'portsentry',
        );
        expectedConsumed++;
        break;
      case 2:
        line = syslog(i % 3600, 'sshd', `Failed password for root from ${src} port ${i} ssh2`);
        expectedConsumed++;
        break;
      case 3:
        line = syslog(
          i % 3600,
          'CRON',
          `(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 ${i})`,
        );
        break;
      default:
        line = syslog(i % 3600, 'kernel', `[ ${i}.0] usb 1-1: new high-speed USB device number ${i}`, null);
    }
    if (table.add(line)) consumed++;
  }
  assert.equal(consumed, expectedConsumed);
  assert.equal(consumed, 120_000);
  assert.equal(table.size, sources);
  const rows = table.rows();
  // Each source gets 200 lines of each kind: 40 connects, 40 "already blocked", 40 ssh failures.
  assert.ok(rows.every((r) => r.hits === 80 && r.repeatsAfterBlock === 40));
  assert.ok(rows.every((r) => r.kinds.length === 2 && r.sshUsers.length === 1));
  assert.equal(
    rows.reduce((n, r) => n + r.hits, 0),
    80_000,
  );
  // Source 0 connects at i = 5000 j (j < 40), to port 904 j % 1024: 40 distinct ports.
  const first = rowOf(table, '198.18.0.0');
  assert.equal(
    first.ports.reduce((n, r) => n + r.to - r.from + 1, 0),
    40,
  );
});

test("the daemon's alert mail lines name a host but are no event against it", () => {
  for (const m of [
    { kind: 'alertMailSent', address: '203.0.113.9', to: 'root', earlier: 2 },
    { kind: 'alertMailDeferred', address: '203.0.113.10', intervalSeconds: 60, until: '20:01:00' },
    { kind: 'alertMailFailed', address: '203.0.113.9', reason: 'connect ECONNREFUSED', intervalSeconds: 60 },
  ] satisfies LogMessage[]) {
    assert.equal(sentryEvent(formatMessage(m)), null, m.kind);
  }
});
