import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic } from './diagnostic.ts';
import { loadModesFromDefaults, parseDefaultsText } from './defaults-file.ts';

const F = '/etc/default/portsentry';

test("Debian's file: both modes, quoted or not, comments", () => {
  assert.deepEqual(parseDefaultsText(F, '# comment\nTCP_MODE="atcp"\nUDP_MODE=audp\n').modes, [
    'atcp',
    'audp',
  ]);
  assert.deepEqual(parseDefaultsText(F, 'TCP_MODE="tcp"\nUDP_MODE=""\n').modes, ['tcp']);
  assert.deepEqual(parseDefaultsText(F, '').modes, ['tcp', 'udp']);
});

test('an invalid or empty choice is an error naming the line', () => {
  assert.deepEqual(parseDefaultsText(F, 'TCP_MODE="xtcp"\n').diagnostics.map(formatDiagnostic), [
    `error: ${F}:1: TCP_MODE: xtcp is not a valid mode (expected tcp, stcp, atcp or empty)`,
  ]);
  assert.deepEqual(parseDefaultsText(F, 'TCP_MODE=""\nUDP_MODE=""\n').diagnostics.map(formatDiagnostic), [
    `error: ${F}: no modes: TCP_MODE and UDP_MODE are both empty`,
  ]);
});

test('a missing default file means tcp and udp; a named missing file is an error', async () => {
  const named = await loadModesFromDefaults('/nonexistent/portsentry');
  assert.equal(named.diagnostics[0]?.severity, 'error');
});
