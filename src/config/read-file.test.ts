import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode, ErrorCodes } from '../errors.ts';
import { loadModesFromDefaults } from './defaults-file.ts';
import { formatDiagnostic } from './diagnostic.ts';
import { loadIgnoreFile } from './ignore-file.ts';
import { loadSettingsFile } from './load-settings.ts';
import { readRegularFile } from './read-file.ts';
import { classicPortLimit, loadStartupConfig, MAX_CLASSIC_PORTS } from './startup-config.ts';
import { settingsFromConf } from './settings.ts';
import { parseConfText } from './conf-file.ts';

async function fifoDir(): Promise<{ dir: string; fifo: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'psn-read-'));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  return { dir, fifo };
}

test('a FIFO as --config, IGNORE_FILE or defaults file is refused at once, never read', async () => {
  const { dir, fifo } = await fifoDir();
  const started = Date.now();
  const conf = await loadSettingsFile(fifo);
  assert.deepEqual(conf.diagnostics.map(formatDiagnostic), [
    `error: ${fifo}: is a FIFO, not a regular file; not read`,
  ]);
  const ignore = await loadIgnoreFile(fifo);
  assert.deepEqual(ignore.diagnostics.map(formatDiagnostic), [
    `error: ${fifo}: is a FIFO, not a regular file; not read`,
  ]);
  const defaults = await loadModesFromDefaults(fifo);
  assert.deepEqual(defaults.diagnostics.map(formatDiagnostic), [
    `error: ${fifo}: is a FIFO, not a regular file; not read`,
  ]);
  // The whole start-up read, as check-config does it.
  const conf2 = join(dir, 'portsentry.conf');
  await writeFile(conf2, `IGNORE_FILE="${fifo}"\n`);
  const startup = await loadStartupConfig({ modes: ['stcp'], configPath: conf2, defaultsPath: fifo });
  assert.ok(startup.diagnostics.some((d) => d.file === fifo && d.severity === 'error'));
  assert.ok(Date.now() - started < 2000, 'no hang');
});

test('a directory or a device is refused with its type; a too large file is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-read-'));
  await assert.rejects(readRegularFile(dir), (err) => hasCode(err, ErrorCodes.FILE_TYPE));
  const loaded = await loadSettingsFile(dir);
  assert.deepEqual(loaded.diagnostics.map(formatDiagnostic), [
    `error: ${dir}: is a directory, not a regular file; not read`,
  ]);
  await assert.rejects(readRegularFile('/dev/zero'), /is a character device, not a regular file/);
  const big = join(dir, 'big');
  await writeFile(big, 'x'.repeat(2000));
  await assert.rejects(readRegularFile(big, 1000), (err) => hasCode(err, ErrorCodes.FILE_TOO_LARGE));
  assert.equal((await readRegularFile(big, 2000)).length, 2000);
  const missing = await loadSettingsFile(join(dir, 'nope'));
  assert.deepEqual(missing.diagnostics.map(formatDiagnostic), [`error: ${join(dir, 'nope')}: no such file`]);
});

test('a BOM at the start of the ignore and defaults files is skipped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-read-'));
  const ignore = join(dir, 'ignore');
  await writeFile(ignore, '\uFEFF10.0.0.1\n');
  const parsed = await loadIgnoreFile(ignore);
  assert.deepEqual(parsed.diagnostics, []);
  assert.equal(parsed.entries.length, 1);
  const defaults = join(dir, 'defaults');
  await writeFile(defaults, '\uFEFFTCP_MODE="stcp"\nUDP_MODE=""\n');
  assert.deepEqual((await loadModesFromDefaults(defaults)).modes, ['stcp']);
});

test('classic modes refuse more ports than the descriptor budget, naming the limit', () => {
  const F = '/t/portsentry.conf';
  const loaded = settingsFromConf(parseConfText(F, 'UDP_PORTS="1-5"\nTCP_PORTS="1-10001"\n'));
  assert.deepEqual(classicPortLimit(['tcp', 'udp'], loaded).map(formatDiagnostic), [
    `error: ${F}:2: TCP_PORTS: classic mode would bind 10006 ports (TCP_PORTS 10001 + UDP_PORTS 5); the limit is ${MAX_CLASSIC_PORTS} sockets, one file descriptor each (use stealth or advanced modes, which bind none, to watch more)`,
    `error: ${F}:1: UDP_PORTS: classic mode would bind 10006 ports (TCP_PORTS 10001 + UDP_PORTS 5); the limit is ${MAX_CLASSIC_PORTS} sockets, one file descriptor each (use stealth or advanced modes, which bind none, to watch more)`,
  ]);
  assert.deepEqual(classicPortLimit(['stcp', 'sudp'], loaded), [], 'stealth modes bind nothing');
  assert.deepEqual(classicPortLimit(['udp'], loaded), []);
  const edge = settingsFromConf(parseConfText(F, `TCP_PORTS="1-${MAX_CLASSIC_PORTS}"\n`));
  assert.deepEqual(classicPortLimit(['tcp'], edge), []);
});
