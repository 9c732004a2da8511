/**
 * @module cli/commands/status.test
 * `status` for people: the daemon's state, then its bans as a table (the newest only when many).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BanView, StatusReport } from '../../control/protocol.ts';
import { formatStatus, STATUS_ROWS } from './status.ts';

const ban = (i: number): BanView => ({
  address: `192.0.2.${i}`,
  since: new Date(Date.UTC(2026, 10, 23, 1, 0, i)).toISOString(),
  expires: null,
  ports: [1, 11, 15],
  scanType: 'TCP SYN/Normal scan',
  mode: 'stcp',
  backends: ['nft'],
});

const report = (bans: BanView[]): StatusReport => ({
  running: true,
  pid: 42,
  startedAt: '2026-11-23T01:00:00.000Z',
  version: '0.1.0',
  modes: ['stcp', 'audp'],
  backend: 'nftables (inet portsnare)',
  blockTime: 3600,
  traps: [
    { mode: 'stcp', ports: [1, 11, 15] },
    { mode: 'audp', ports: null, below: 1024, exclude: [67, 137] },
  ],
  counters: { hits: 3, alerts: 1 },
  stateDir: '/var/lib/portsnare',
  bans,
});

test('status for people: modes, backend, traps, counters, then the bans as a table', () => {
  const text = formatStatus(report([ban(7)]));
  const lines = text.split('\n');
  assert.equal(lines[0], 'portsnare 0.1.0: running, pid 42, since 2026-11-23T01:00:00.000Z');
  assert.equal(lines[1], 'Modes:    -stcp -audp');
  assert.equal(lines[2], 'Blocking: nftables (inet portsnare); bans last 3600 s');
  assert.equal(lines[4], '  stcp  3 port(s): 1,11,15');
  assert.equal(lines[5], '  audp  every free port below 1024 except 67,137');
  assert.equal(lines[6], 'Counters: hits=3 alerts=1');
  assert.match(lines[8] ?? '', /^ADDRESS +SINCE +EXPIRES +PORTS +SCAN TYPE +MODE +BACKENDS$/);
  assert.match(lines[9] ?? '', /^192\.0\.2\.7 +\S+ \S+ +never +1,11,15 +TCP SYN\/Normal scan +stcp +nft$/);
  assert.equal(lines[10], '1 ban(s).');
});

test('with many bans the status table shows the newest and says how many more there are', () => {
  const bans = Array.from({ length: STATUS_ROWS + 10 }, (_, i) => ban(i + 1));
  const text = formatStatus(report(bans));
  assert.ok(!text.includes('192.0.2.10 '), 'an old one is not shown');
  assert.ok(text.includes('192.0.2.60 '), 'the newest is');
  assert.ok(
    text.endsWith(
      `(10 older ban(s) not shown, ${STATUS_ROWS + 10} in all: \`portsnare list\` shows every one)\n`,
    ),
  );
});
