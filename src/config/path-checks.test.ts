import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfText } from './conf-file.ts';
import { formatDiagnostic } from './diagnostic.ts';
import { checkPaths, stateDirTrustDiagnostics, type PathStat } from './path-checks.ts';
import { settingsFromConf } from './settings.ts';

test('every configured path of the wrong type is an error with file, line and key', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-paths-'));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const aDir = join(dir, 'a-dir');
  await mkdir(aDir);
  const aFile = join(dir, 'a-file');
  await writeFile(aFile, '');
  const sock = join(dir, 'sock');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  try {
    const conf = join(dir, 'portsentry.conf');
    const text = [
      `STATE_DIR="${aFile}"`,
      `HISTORY_FILE="${aDir}"`,
      `HOSTS_DENY_FILE="${fifo}"`,
      `SYSLOG_SOCKET="${aDir}"`,
      `IGNORE_FILE="${sock}"`,
      `BLOCKED_FILE="${join(dir, 'blocked')}"`,
    ].join('\n');
    await writeFile(conf, text);
    await mkdir(join(dir, 'blocked.udp'));
    const loaded = settingsFromConf(parseConfText(conf, text));
    assert.deepEqual(checkPaths(loaded).map(formatDiagnostic), [
      `error: ${conf}:1: STATE_DIR: ${aFile} is a file; it must be a directory (or not exist yet)`,
      `error: ${conf}:2: HISTORY_FILE: ${aDir} is a directory; it must be a regular file (or not exist yet)`,
      `error: ${conf}:3: HOSTS_DENY_FILE: ${fifo} is a fifo; it must be a regular file (or not exist yet)`,
      `error: ${conf}:6: BLOCKED_FILE: ${join(dir, 'blocked.udp')} is a directory; it must be a regular file (or not exist yet)`,
      `error: ${conf}:5: IGNORE_FILE: ${sock} is a socket; it must be a regular file (or not exist yet)`,
      `error: ${conf}:4: SYSLOG_SOCKET: ${aDir} is a directory; it must be a socket`,
    ]);

    const good = [
      `STATE_DIR="${join(dir, 'state', 'sub')}"`,
      `HISTORY_FILE="${aFile}"`,
      `HOSTS_DENY_FILE="${join(dir, 'hosts.deny')}"`,
      `SYSLOG_SOCKET="${sock}"`,
      `IGNORE_FILE="${join(dir, 'none')}"`,
      `BLOCKED_FILE="${join(dir, 'b')}"`,
    ].join('\n');
    await writeFile(conf, good);
    assert.deepEqual(checkPaths(settingsFromConf(parseConfText(conf, good))), []);

    const below = `STATE_DIR="${join(aFile, 'x', 'y')}"\nHISTORY_FILE="${join(aFile, 'h')}"\nSYSLOG_SOCKET="${join(dir, 'no-log')}"`;
    await writeFile(conf, below);
    assert.deepEqual(checkPaths(settingsFromConf(parseConfText(conf, below))).map(formatDiagnostic), [
      `error: ${conf}:1: STATE_DIR: ${join(aFile, 'x', 'y')}: a parent of it is not a directory`,
      `error: ${conf}:2: HISTORY_FILE: ${join(aFile, 'h')}: a parent of it is not a directory`,
      `warning: ${conf}:3: SYSLOG_SOCKET: ${join(dir, 'no-log')} does not exist; it must be a socket`,
    ]);
  } finally {
    server.close();
  }
});

test('the config file itself must be a regular file; the stat function is injectable', () => {
  const loaded = settingsFromConf(parseConfText('/etc/p.conf', ''));
  const kinds: Record<string, PathStat> = {
    '/etc/p.conf': 'fifo',
    '/dev/log': 'socket',
    '/var/lib/portsnare': 'character device',
  };
  const stat = (path: string): PathStat => kinds[path] ?? 'directory';
  assert.deepEqual(checkPaths(loaded, stat).map(formatDiagnostic), [
    'error: /etc/p.conf: /etc/p.conf is a fifo; it must be a regular file (or not exist yet)',
    'error: /etc/p.conf: STATE_DIR: /var/lib/portsnare is a character device; it must be a directory (or not exist yet)',
    'error: /etc/p.conf: HISTORY_FILE: /var/lib/portsentry/portsentry.history is a directory; it must be a regular file (or not exist yet)',
    'error: /etc/p.conf: HOSTS_DENY_FILE: /etc/hosts.deny is a directory; it must be a regular file (or not exist yet)',
    'error: /etc/p.conf: BLOCKED_FILE: /var/lib/portsentry/portsentry.blocked.tcp is a directory; it must be a regular file (or not exist yet)',
    'error: /etc/p.conf: BLOCKED_FILE: /var/lib/portsentry/portsentry.blocked.udp is a directory; it must be a regular file (or not exist yet)',
    'error: /etc/p.conf: BLOCKED_FILE: /var/lib/portsentry/portsentry.blocked.stcp is a directory; it must be a regular file (or not exist yet)',
    'error: /etc/p.conf: BLOCKED_FILE: /var/lib/portsentry/portsentry.blocked.sudp is a directory; it must be a regular file (or not exist yet)',
    'error: /etc/p.conf: BLOCKED_FILE: /var/lib/portsentry/portsentry.blocked.atcp is a directory; it must be a regular file (or not exist yet)',
    'error: /etc/p.conf: BLOCKED_FILE: /var/lib/portsentry/portsentry.blocked.audp is a directory; it must be a regular file (or not exist yet)',
    'error: /etc/p.conf: IGNORE_FILE: /etc/portsentry/portsentry.ignore is a directory; it must be a regular file (or not exist yet)',
  ]);
  const fileAt =
    (at: string) =>
    (path: string): PathStat =>
      path === at
        ? 'file'
        : path.startsWith(`${at}/`)
          ? 'absent'
          : path === '/dev/log'
            ? 'socket'
            : path === '/etc/p.conf'
              ? 'file'
              : 'absent';
  assert.deepEqual(checkPaths(loaded, fileAt('/var/lib')).map(formatDiagnostic), [
    'error: /etc/p.conf: STATE_DIR: /var/lib/portsnare cannot be created: /var/lib is a file, not a directory',
    'error: /etc/p.conf: HISTORY_FILE: /var/lib/portsentry/portsentry.history cannot be created: /var/lib is a file, not a directory',
    'error: /etc/p.conf: BLOCKED_FILE: /var/lib/portsentry/portsentry.blocked.tcp cannot be created: /var/lib is a file, not a directory',
  ]);
});

test('STATE_DIR trust problems become errors on the STATE_DIR key', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-paths-'));
  const state = join(dir, 'state');
  await mkdir(state);
  await chmod(state, 0o777);
  const conf = join(dir, 'p.conf');
  const loaded = settingsFromConf(parseConfText(conf, `# x\nSTATE_DIR="${state}"\n`));
  assert.deepEqual(stateDirTrustDiagnostics(loaded, { uid: 0 }).map(formatDiagnostic), [
    `error: ${conf}:2: STATE_DIR: ${state} is writable by everyone (mode 0777): a root daemon cannot trust files there (fix the owner or mode)`,
  ]);
  await chmod(state, 0o700);
  assert.deepEqual(stateDirTrustDiagnostics(loaded, { uid: 0 }), []);
});
