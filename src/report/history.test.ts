import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { constants } from 'node:fs';
import { mkdtemp, open, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes } from '../errors.ts';
import { addressOfHistoryLine, appendLine, BlockedFile, formatHistoryLine } from './history.ts';
import { formatMessage } from './messages.ts';
import type { BlockRecord } from './reporter.ts';
import { HistoryFileSink } from './sinks/history-file-sink.ts';

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

// --- issue 9 item 7: a path that became a FIFO after the start fails at once, never hangs --------

/** Rejects if `promise` has not settled within `ms` (a hang fails the test instead of stalling it). */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms: it blocked`)), ms);
    timer.unref();
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function fifo(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'psn-fifo-'));
  const path = join(dir, 'history');
  await promisify(execFile)('mkfifo', [path]);
  return path;
}

test('appending to a FIFO (no reader, or a reader) fails at once as FILE_TYPE; the FIFO gets nothing', async () => {
  const path = await fifo();
  await assert.rejects(within(2000, appendLine(path, 'x', 0o600)), { code: ErrorCodes.FILE_TYPE });
  // With a reader the open would succeed: the type check on the open descriptor refuses it.
  const reader = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    await assert.rejects(within(2000, appendLine(path, 'x', 0o600)), {
      code: ErrorCodes.FILE_TYPE,
      message: /is a FIFO, not a regular file; not written/,
    });
    const { bytesRead } = await reader.read(Buffer.alloc(16), 0, 16, null).catch(() => ({ bytesRead: 0 }));
    assert.equal(bytesRead, 0);
  } finally {
    await reader.close();
  }
});

test('a blocked file replaced by a FIFO: has() reads no lines and append() fails, both at once', async () => {
  const path = await fifo();
  const blocked = new BlockedFile(path);
  assert.equal(await within(2000, blocked.has('192.0.2.1')), false);
  await assert.rejects(within(2000, blocked.append('x', '192.0.2.1')), { code: ErrorCodes.FILE_TYPE });
  await within(2000, blocked.remove(['192.0.2.1']));
});

test('HistoryFileSink: a HISTORY_FILE that became a FIFO is logged as a failed write, at once', async () => {
  const path = await fifo();
  const lines: string[] = [];
  const sink = new HistoryFileSink(path, {
    log: (m) => lines.push(formatMessage(m)),
    close: () => undefined,
  });
  const record: BlockRecord = { line: 'a line', address: '192.0.2.1', mode: 'tcp' };
  await within(2000, sink.blocked(record));
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? '', /^adminalert: ERROR: Cannot write .*history: .* is a FIFO/);
});
