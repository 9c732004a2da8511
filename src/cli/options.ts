/**
 * @module cli/options
 * The options several commands share (--config, --defaults-file, --json, --help), defined once so
 * every command describes them the same way in the usage text.
 */
import type { OptionDefinition } from './command.ts';

export const CONFIG = {
  short: 'c',
  type: 'string',
  valueName: 'PATH',
  description:
    'portsentry.conf to read (default /etc/portsentry/portsentry.conf; built-in defaults if absent)',
} as const satisfies OptionDefinition;

export const DEFAULTS_FILE = {
  type: 'string',
  valueName: 'PATH',
  description:
    'Where TCP_MODE/UDP_MODE are read when no mode flag is given (default /etc/default/portsentry)',
} as const satisfies OptionDefinition;

export const JSON_OUTPUT = {
  type: 'boolean',
  description: 'Print JSON instead of a table',
} as const satisfies OptionDefinition;

export const HELP = {
  short: 'h',
  type: 'boolean',
  description: 'Show this help',
} as const satisfies OptionDefinition;
