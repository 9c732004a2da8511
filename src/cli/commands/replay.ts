/**
 * @module cli/commands/replay
 * The definition of `portsnare replay FILE.pcap` (its options and usage line); the replay itself is
 * cli/replay.
 */
import { defineCommand, type Command } from '../command.ts';
import { CONFIG, DEFAULTS_FILE, HELP } from '../options.ts';
import { replayCommand } from '../replay.ts';

export const replay: Command = defineCommand({
  name: 'replay',
  argument: 'FILE.pcap',
  description:
    'Run a capture file through the detector; print what the daemon would log and block, touching nothing',
  takesModes: true,
  options: {
    config: CONFIG,
    'defaults-file': DEFAULTS_FILE,
    local: {
      type: 'string',
      multiple: true,
      valueName: 'ADDR',
      description: "This host's address in the capture (repeatable); without it every destination counts",
    },
    help: HELP,
  },
  exec: ({ modes, options, positional }, { out, err }) =>
    replayCommand({
      file: positional ?? '',
      modes,
      configPath: options.config,
      defaultsPath: options['defaults-file'],
      locals: options.local ?? [],
      out,
      err,
    }),
});
