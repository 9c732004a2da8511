import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMessage, type LogMessage } from './messages.ts';

// Texts from shared/reference/portsentry.md §4.1 and the live run in §8, byte for byte.
const EXPECTED: [LogMessage, string][] = [
  [{ kind: 'starting', version: '1.2' }, 'adminalert: PortSentry 1.2 is starting.'],
  [
    { kind: 'portsMissing', protocol: 'tcp' },
    'adminalert: ERROR: Could not read TCP_PORTS option from config file',
  ],
  [{ kind: 'noPorts', protocol: 'udp' }, 'adminalert: ERROR: No UDP ports supplied in config file. Aborting'],
  [{ kind: 'listen', protocol: 'tcp', port: 1 }, 'adminalert: Going into listen mode on TCP port: 1'],
  [{ kind: 'listen', protocol: 'udp', port: 54321 }, 'adminalert: Going into listen mode on UDP port: 54321'],
  [
    { kind: 'bindFailed', protocol: 'tcp', port: 79 },
    'adminalert: ERROR: could not bind TCP socket: 79. Attempting to continue',
  ],
  [
    { kind: 'bindFailed', protocol: 'udp', port: 53 },
    'adminalert: ERROR: could not bind UDP socket: 53. Attempting to continue',
  ],
  [
    { kind: 'bindNone', protocol: 'tcp' },
    'adminalert: ERROR: could not bind ANY TCP sockets. Shutting down.',
  ],
  [{ kind: 'active' }, 'adminalert: PortSentry is now active and listening.'],
  [{ kind: 'shuttingDownSecurity' }, 'securityalert: PortSentry is shutting down'],
  [{ kind: 'shuttingDownAdmin' }, 'adminalert: PortSentry is shutting down'],
  [
    { kind: 'blockedFileOpenFailed', path: '/x/b.tcp' },
    'adminalert: ERROR: Cannot open blocked file: /x/b.tcp.',
  ],
  [{ kind: 'historyFileOpenFailed', path: '/x/h' }, 'adminalert: ERROR: Cannot open history file: /x/h.'],
  [
    { kind: 'blockedFileDeleteFailed', path: '/x/b' },
    'adminalert: ERROR: Cannot delete blocked file on startup: /x/b.',
  ],
  [
    { kind: 'connect', protocol: 'tcp', host: 'attacker.psref.test', address: '10.231.0.2', port: 79 },
    'attackalert: Connect from host: attacker.psref.test/10.231.0.2 to TCP port: 79',
  ],
  [
    { kind: 'connect', protocol: 'udp', host: '10.231.0.2', address: '10.231.0.2', port: 9 },
    'attackalert: Connect from host: 10.231.0.2/10.231.0.2 to UDP port: 9',
  ],
  [
    { kind: 'connect', protocol: 'tcp', host: '2001:db8::2', address: '2001:db8::2', port: 1 },
    'attackalert: Connect from host: 2001:db8::2/2001:db8::2 to TCP port: 1',
  ],
  [
    { kind: 'acceptFailed', port: 1 },
    'attackalert: Possible stealth scan from unknown host to TCP port: 1 (accept failed)',
  ],
  [
    { kind: 'alreadyBlocked', mode: 'tcp', host: '10.231.0.2', address: '10.231.0.2' },
    'attackalert: Host: 10.231.0.2 is already blocked. Ignoring',
  ],
  [
    { kind: 'alreadyBlocked', mode: 'stcp', host: '10.231.0.2', address: '10.231.0.2' },
    'attackalert: Host: 10.231.0.2/10.231.0.2 is already blocked Ignoring',
  ],
  [
    {
      kind: 'stealthScan',
      protocol: 'tcp',
      label: 'TCP SYN/Normal scan',
      host: '10.231.0.2',
      address: '10.231.0.2',
      port: 1,
    },
    'attackalert: TCP SYN/Normal scan from host: 10.231.0.2/10.231.0.2 to TCP port: 1',
  ],
  [
    {
      kind: 'stealthScan',
      protocol: 'tcp',
      label: ' TCP NULL scan',
      host: 'h',
      address: '10.231.0.2',
      port: 1,
    },
    'attackalert:  TCP NULL scan from host: h/10.231.0.2 to TCP port: 1',
  ],
  [
    { kind: 'stealthScan', protocol: 'udp', label: '', host: '10.231.0.2', address: '10.231.0.2', port: 69 },
    'attackalert: UDP scan from host: 10.231.0.2/10.231.0.2 to UDP port: 69',
  ],
  [
    { kind: 'ipOptions', protocol: 'tcp', host: '10.231.0.2', address: '10.231.0.2', port: 143 },
    'attackalert: Packet from host: 10.231.0.2/10.231.0.2 to TCP port: 143 has IP options set (detection avoidance technique).',
  ],
  [
    { kind: 'illegalHeaderLength', protocol: 'udp', ihl: 3, address: '10.231.0.2' },
    'attackalert: Illegal IP header length detected in UDP packet: 3 from (possible) host: 10.231.0.2',
  ],
  [
    { kind: 'stealthListen', protocol: 'tcp', port: 1 },
    'adminalert: Going into stealth listen mode on TCP port: 1',
  ],
  [
    { kind: 'socketInUse', port: 111 },
    'adminalert: ERROR: Socket 111 is in use and will not be monitored. Attempting to continue',
  ],
  [
    { kind: 'allSocketsInUse', protocol: 'udp' },
    'adminalert: ERROR: All supplied UDP sockets are in use and will not be listened to. Shutting down.',
  ],
  [{ kind: 'advancedMonitor', ports: 1024 }, 'adminalert: Advanced mode will monitor first 1024 ports'],
  [{ kind: 'advancedExclude', port: 113 }, 'adminalert: Advanced mode will manually exclude port: 113 '],
  [{ kind: 'advancedExcludeNone' }, 'adminalert: Advanced mode will manually exclude no ports'],
  [
    { kind: 'advancedIgnored', protocol: 'tcp', port: 79 },
    'adminalert: Advanced Stealth scan detection mode activated. Ignored TCP port: 79',
  ],
  [
    { kind: 'couldNotBlock', mode: 'stcp', host: 'h', address: '10.231.0.2' },
    'attackalert: ERROR: Could not block host h/10.231.0.2 !!',
  ],
  [
    { kind: 'couldNotBlock', mode: 'audp', host: 'h', address: '10.231.0.2' },
    'attackalert: ERROR: Could not block host h/10.231.0.2!!',
  ],
  [
    { kind: 'ignoringResponse', protocol: 'tcp' },
    'attackalert: Ignoring TCP response per configuration file setting.',
  ],
  [
    { kind: 'ignoringResponse', protocol: 'udp' },
    'attackalert: Ignoring UDP response per configuration file setting.',
  ],
  [
    { kind: 'blockedWrappers', address: '10.231.0.2', line: 'ALL: 10.231.0.2 : DENY' },
    'attackalert: Host 10.231.0.2 has been blocked via wrappers with string: "ALL: 10.231.0.2 : DENY"',
  ],
  [
    { kind: 'blockedRoute', address: '10.231.0.2', command: '/sbin/route add -host 10.231.0.2 reject' },
    'attackalert: Host 10.231.0.2 has been blocked via dropped route using command: "/sbin/route add -host 10.231.0.2 reject"',
  ],
  [
    { kind: 'externalCommand', address: '10.231.0.2', command: '/bin/echo RUNCMD 10.231.0.2 79 tcp' },
    'attackalert: External command run for host: 10.231.0.2 using command: "/bin/echo RUNCMD 10.231.0.2 79 tcp"',
  ],
  [
    { kind: 'couldNotBlock', mode: 'tcp', host: '10.231.0.2', address: '10.231.0.2' },
    'attackalert: ERROR: Could not block host 10.231.0.2 !!',
  ],
  [
    { kind: 'blockError', address: '10.231.0.2' },
    'adminalert: ERROR: There was an error trying to block host (exec fail) 10.231.0.2',
  ],
  [
    { kind: 'runCommandError', address: '10.231.0.2' },
    'adminalert: ERROR: There was an error trying to run command (exec fail) 10.231.0.2',
  ],
  [
    { kind: 'hostsDenyOpenFailed', path: '/etc/hosts.deny' },
    'adminalert: cannot open hosts.deny file: /etc/hosts.deny for blocking.',
  ],
  [
    { kind: 'hostsDenyBlockError', address: '10.231.0.2' },
    'securityalert: ERROR: There was an error trying to block host 10.231.0.2',
  ],
];

test('every PortSentry 1.2 message is reproduced byte for byte', () => {
  for (const [message, text] of EXPECTED) assert.equal(formatMessage(message), text, message.kind);
});

test('portsnare-only messages keep the 1.2 prefixes so log filters classify them', () => {
  const texts = [
    formatMessage({ kind: 'configProblem', severity: 'error', where: '/c:3: TCP_PORTS', text: 'bad' }),
    formatMessage({ kind: 'bindFailedFamily', protocol: 'tcp', family: 6, port: 1, reason: 'EADDRINUSE' }),
    formatMessage({
      kind: 'actionFailedDetail',
      key: 'KILL_ROUTE',
      address: '192.0.2.1',
      reason: 'program not found: /x',
    }),
  ];
  assert.deepEqual(texts, [
    'adminalert: ERROR: /c:3: TCP_PORTS: bad',
    'adminalert: ERROR: could not bind IPv6 TCP socket: 1 (EADDRINUSE). Attempting to continue',
    'adminalert: ERROR: KILL_ROUTE for host 192.0.2.1 failed: program not found: /x',
  ]);
});

test('the MAX_BLOCKS_PER_MINUTE lines name the evidence kind whose budget ran out', () => {
  assert.deepEqual(
    [
      formatMessage({ kind: 'blockCapReached', limit: 60, evidence: 'packet' }),
      formatMessage({ kind: 'blockCapReached', limit: 60, evidence: 'datagram' }),
      formatMessage({ kind: 'blockCapReached', limit: 1, evidence: 'handshake' }),
      formatMessage({ kind: 'blockCapSummary', limit: 60, evidence: 'packet', suppressed: 998 }),
      formatMessage({ kind: 'blockCapSummary', limit: 1, evidence: 'handshake', suppressed: 2 }),
    ],
    [
      'adminalert: WARNING: MAX_BLOCKS_PER_MINUTE (60) reached for packet evidence (forgeable source addresses): hosts are still logged but no more are blocked this minute; handshake evidence keeps its own budget',
      'adminalert: WARNING: MAX_BLOCKS_PER_MINUTE (60) reached for datagram evidence (forgeable source addresses): hosts are still logged but no more are blocked this minute; handshake evidence keeps its own budget',
      'adminalert: WARNING: MAX_BLOCKS_PER_MINUTE (1) reached for handshake evidence (completed TCP connections): hosts are still logged but no more are blocked this minute',
      'adminalert: WARNING: MAX_BLOCKS_PER_MINUTE (60) for packet evidence (forgeable source addresses): 998 block(s) refused in the last minute',
      'adminalert: WARNING: MAX_BLOCKS_PER_MINUTE (1) for handshake evidence (completed TCP connections): 2 block(s) refused in the last minute',
    ],
  );
});

test('the alert mail lines: sent, deferred once per interval, failed, state problems', () => {
  assert.deepEqual(
    [
      formatMessage({ kind: 'alertMailSent', address: '203.0.113.9', to: 'root', earlier: 0 }),
      formatMessage({ kind: 'alertMailSent', address: '203.0.113.9', to: 'a@x, b@y', earlier: 12 }),
      formatMessage({
        kind: 'alertMailDeferred',
        address: '203.0.113.10',
        intervalSeconds: 3600,
        until: '21:00:05',
      }),
      formatMessage({
        kind: 'alertMailFailed',
        address: '203.0.113.9',
        reason: 'connect ECONNREFUSED 127.0.0.1:25',
        intervalSeconds: 60,
      }),
      formatMessage({
        kind: 'alertMailState',
        path: '/var/lib/portsnare/alert-mail.json',
        text: 'is not an alert mail state file; starting afresh',
      }),
    ],
    [
      'adminalert: Alert mail sent to root: 203.0.113.9 blocked',
      'adminalert: Alert mail sent to a@x, b@y: 203.0.113.9 blocked (and 12 earlier block(s) left to the digest)',
      'adminalert: Alert mail deferred: 203.0.113.10 blocked; at most one alert mail per 3600 s, so blocks until 21:00:05 go into the next digest (said once per interval)',
      'adminalert: ERROR: alert mail about 203.0.113.9 not sent: connect ECONNREFUSED 127.0.0.1:25; the next one is tried after 60 s, the digest has the blocks',
      'adminalert: WARNING: alert mail state /var/lib/portsnare/alert-mail.json: is not an alert mail state file; starting afresh',
    ],
  );
});
