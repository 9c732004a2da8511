import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressOfHistoryLine, appendLine, BlockedFile, formatHistoryLine } from './history.ts';

process.env.TZ = 'UTC';

test('history line format is 1.2 byte for byte (local time, month first)', () => {
  const time = new Date(1795396579 * 1000); // 2026-11-23 01:16:19 UTC, spec §5
  assert.equal(
    formatHistoryLine({ time, host: '10.231.0.2', address: '10.231.0.2', port: 1, protocol: 'tcp' }),
    '1795396579 - 11/23/2026 01:16:19 Host: 10.231.0.2/10.231.0.2 Port: 1 TCP Blocked',
  );
  assert.equal(
    formatHistoryLine({
      time: new Date(1795396562 * 1000),
      host: 'attacker.psref.test',
      address: '10.231.0.2',
      port: 79,
      protocol: 'tcp',
    }),
    '1795396562 - 11/23/2026 01:16:02 Host: attacker.psref.test/10.231.0.2 Port: 79 TCP Blocked',
  );
  assert.equal(
    formatHistoryLine({
      time: new Date(Date.UTC(2027, 0, 2, 3, 4, 5)),
      host: '2001:db8::2',
      address: '2001:db8::2',
      port: 9,
      protocol: 'udp',
    }),
    '1798859045 - 01/02/2027 03:04:05 Host: 2001:db8::2/2001:db8::2 Port: 9 UDP Blocked',
  );
});

test('the address is read back from a line; 10.0.0.1 is not 10.0.0.12', () => {
  assert.equal(
    addressOfHistoryLine('1795396579 - 11/23/2026 01:16:19 Host: x/10.0.0.12 Port: 1 TCP Blocked'),
    '10.0.0.12',
  );
  assert.equal(addressOfHistoryLine('junk'), null);
});

test("fail2ban's stock portsentry filter reads our lines", async () => {
  // Debian's fail2ban ships the filter; .ci/run installs it.
  const filter = '/etc/fail2ban/filter.d/portsentry.conf';
  await stat(filter).catch(() => assert.fail(`${filter} is missing: apt-get install fail2ban`));
  const dir = await mkdtemp(join(tmpdir(), 'psn-f2b-'));
  const log = join(dir, 'portsentry.history');
  const now = Math.floor(Date.now() / 1000);
  await writeFile(
    log,
    [
      formatHistoryLine({
        time: new Date(now * 1000),
        host: '192.0.2.7',
        address: '192.0.2.7',
        port: 1,
        protocol: 'tcp',
      }),
      formatHistoryLine({
        time: new Date(now * 1000),
        host: 'h.example',
        address: '2001:db8::7',
        port: 9,
        protocol: 'udp',
      }),
    ].join('\n') + '\n',
  );
  const { stdout: out } = await promisify(execFile)('fail2ban-regex', ['--print-all-matched', log, filter]);
  assert.match(out, /Lines: 2 lines, 0 ignored, 2 matched, 0 missed/);
  assert.match(out, /192\.0\.2\.7/);
  assert.match(out, /2001:db8::7/);
});

test('blocked file: emptied at start, appended, and re-read after a hand edit', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-blocked-'));
  const path = join(dir, 'sub', 'portsentry.blocked.tcp');
  const file = new BlockedFile(path);
  await file.reset();
  assert.equal(await readFile(path, 'utf8'), '');
  assert.equal((await stat(path)).mode & 0o777, 0o644);
  const line = '1795396579 - 11/23/2026 01:16:19 Host: 10.231.0.2/10.231.0.2 Port: 1 TCP Blocked';
  await file.append(line, '10.231.0.2');
  assert.equal(await file.has('10.231.0.2'), true);
  assert.equal(await file.has('10.231.0.22'), false);
  await writeFile(path, ''); // the admin deletes the line: blocking is re-armed
  assert.equal(await file.has('10.231.0.2'), false);
  await writeFile(path, `${line}\n`);
  assert.equal(await file.has('10.231.0.2'), true);
  await file.reset();
  assert.equal(await file.has('10.231.0.2'), false);
});

test('history lines are appended, never truncated, file created 0600', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-history-'));
  const path = join(dir, 'portsentry.history');
  await appendLine(path, 'one', 0o600);
  await appendLine(path, 'two', 0o600);
  assert.equal(await readFile(path, 'utf8'), 'one\ntwo\n');
  assert.equal((await stat(path)).mode & 0o777, 0o600);
});
