import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatMessage, type LogMessage } from '../report/messages.ts';
import { DaemonLines } from './daemon-lines.ts';
import { parseSyslogLine } from './syslog-line.ts';

const NOW = new Date(2025, 10, 23);
const line = (m: LogMessage, ident = 'portsnare') =>
  parseSyslogLine(`Nov 22 10:00:01 host ${ident}[7]: ${formatMessage(m)}`, NOW)!;

test("the daemon's routine lines are folded, with both idents; errors and attacks are not", () => {
  const d = new DaemonLines();
  const routine: LogMessage[] = [
    { kind: 'starting', version: '1.2' },
    { kind: 'listen', protocol: 'tcp', port: 1 },
    { kind: 'listen', protocol: 'tcp', port: 11 },
    { kind: 'listen', protocol: 'tcp', port: 11 },
    { kind: 'stealthListen', protocol: 'udp', port: 7 },
    { kind: 'active' },
    { kind: 'advancedMonitor', ports: 1024 },
    { kind: 'advancedExclude', port: 113 },
    { kind: 'alertMailSent', address: '192.0.2.9', to: 'root', earlier: 0 },
    { kind: 'alertMailDeferred', address: '192.0.2.8', intervalSeconds: 3600, until: '11:00' },
    { kind: 'shuttingDownAdmin' },
  ];
  for (const m of routine)
    assert.equal(d.add(line(m, m.kind === 'active' ? 'portsentry' : 'portsnare')), true, m.kind);
  const notRoutine: LogMessage[] = [
    { kind: 'bindFailed', protocol: 'tcp', port: 111 },
    { kind: 'alertMailFailed', address: '192.0.2.9', reason: 'connection refused', intervalSeconds: 60 },
    { kind: 'connect', protocol: 'tcp', host: '192.0.2.9', address: '192.0.2.9', port: 1 },
  ];
  for (const m of notRoutine) assert.equal(d.add(line(m)), false, m.kind);
  assert.equal(
    d.add(parseSyslogLine('Nov 22 10:00:01 host cron[7]: adminalert: PortSentry 1.2 is starting.', NOW)!),
    false,
  );
  const s = d.summary();
  assert.deepEqual(
    {
      lines: s.lines,
      starts: s.starts,
      stops: s.stops,
      tcp: s.tcpPorts,
      udp: s.udpPorts,
      mails: s.alertMails,
    },
    { lines: 11, starts: 1, stops: 1, tcp: 2, udp: 1, mails: 1 },
  );
});
