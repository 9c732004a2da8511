/**
 * @module cli/parse.test
 * The command line parser: PortSentry's mode flags, each command's own strict options, and the
 * usage text listing them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { usage } from './usage.ts';
import { parseCommandLine } from './parse.ts';

test('PortSentry mode flags, one TCP and one UDP together', () => {
  assert.deepEqual(parseCommandLine(['-tcp']).modes, ['tcp']);
  const both = parseCommandLine(['-udp', '-tcp', '--config', '/x.conf', '--foreground']);
  assert.deepEqual(both.modes, ['udp', 'tcp']);
  assert.equal(both.command.name, 'run');
  assert.equal(both.options['config'], '/x.conf');
  assert.equal(both.options['foreground'], true);
  assert.deepEqual(parseCommandLine(['-stcp', '-audp']).modes, ['stcp', 'audp']);
});

test('two modes of one protocol, unknown options and stray words are usage errors', () => {
  assert.throws(() => parseCommandLine(['-tcp', '-stcp']), /-tcp and -stcp both watch TCP/);
  assert.throws(() => parseCommandLine(['-tpc']), /Unknown option '-t'/);
  assert.throws(() => parseCommandLine(['--frobnicate']), /Unknown option '--frobnicate'/);
  assert.throws(() => parseCommandLine(['start']), /Unexpected argument 'start'/);
  assert.throws(() => parseCommandLine(['--config']), /argument missing/);
});

test('check-config is a command with its own options', () => {
  const cmd = parseCommandLine(['check-config', '-c', '/y.conf', '-udp']);
  assert.equal(cmd.command.name, 'check-config');
  assert.equal(cmd.options['config'], '/y.conf');
  assert.deepEqual(cmd.modes, ['udp']);
  assert.throws(() => parseCommandLine(['check-config', '--foreground']), /Unknown option '--foreground'/);
});

test('usage lists every command and option', () => {
  const text = usage();
  for (const word of [
    '-tcp',
    '-udp',
    'check-config',
    '--config PATH',
    '--foreground',
    '--defaults-file PATH',
    '--version',
  ]) {
    assert.ok(text.includes(word), word);
  }
});
