/**
 * @module cli/definitions
 * The commands and options portsnare accepts, as data: parsing, validation and the usage text all
 * come from here (npm's CLI does the same), so help can never drift from behaviour.
 */
import type { Mode } from '../detect/probe.ts';

export interface OptionDefinition {
  name: string;
  short?: string;
  type: 'boolean' | 'string';
  multiple?: boolean;
  valueName?: string;
  description: string;
}

export interface CommandDefinition {
  name: string;
  summary: string;
  /** Accepts PortSentry's one-token mode flags (-tcp, -udp...). */
  takesModes: boolean;
  /** Name of the one positional argument, if the command takes one. */
  positional?: string;
  options: OptionDefinition[];
}

export const LEGACY_MODE_FLAGS: Readonly<Record<string, Mode>> = {
  '-tcp': 'tcp',
  '-udp': 'udp',
  '-stcp': 'stcp',
  '-sudp': 'sudp',
  '-atcp': 'atcp',
  '-audp': 'audp',
};

const CONFIG: OptionDefinition = {
  name: 'config',
  short: 'c',
  type: 'string',
  valueName: 'PATH',
  description:
    'portsentry.conf to read (default /etc/portsentry/portsentry.conf; built-in defaults if absent)',
};
const DEFAULTS_FILE: OptionDefinition = {
  name: 'defaults-file',
  type: 'string',
  valueName: 'PATH',
  description:
    'Where TCP_MODE/UDP_MODE are read when no mode flag is given (default /etc/default/portsentry)',
};
const JSON_OUTPUT: OptionDefinition = {
  name: 'json',
  type: 'boolean',
  description: 'Print JSON instead of a table',
};
const HELP: OptionDefinition = { name: 'help', short: 'h', type: 'boolean', description: 'Show this help' };

export const COMMANDS: readonly CommandDefinition[] = [
  {
    name: 'run',
    summary: 'Run the daemon (the default command)',
    takesModes: true,
    options: [
      CONFIG,
      DEFAULTS_FILE,
      {
        name: 'foreground',
        short: 'f',
        type: 'boolean',
        description: 'Stay attached; log lines also go to stderr',
      },
      { name: 'version', short: 'V', type: 'boolean', description: 'Print the version and exit' },
      HELP,
    ],
  },
  {
    name: 'check-config',
    summary: 'Print the effective settings and every problem found; exit non-zero on errors',
    takesModes: true,
    options: [CONFIG, DEFAULTS_FILE, HELP],
  },
  {
    name: 'replay',
    summary:
      'Run a capture file through the detector; print what the daemon would log and block, touching nothing',
    takesModes: true,
    positional: 'FILE.pcap',
    options: [
      CONFIG,
      DEFAULTS_FILE,
      {
        name: 'local',
        type: 'string',
        multiple: true,
        valueName: 'ADDR',
        description: "This host's address in the capture (repeatable); without it every destination counts",
      },
      HELP,
    ],
  },
  {
    name: 'status',
    summary: "The daemon's modes, traps, blocking backend, counters and bans (exit 3 if it is not running)",
    takesModes: false,
    options: [CONFIG, JSON_OUTPUT, HELP],
  },
  {
    name: 'list',
    summary: 'The current bans: address, since, expires, ports, scan type, mode, backends',
    takesModes: false,
    options: [CONFIG, JSON_OUTPUT, HELP],
  },
  {
    name: 'block',
    summary: 'Ban an address by hand in every blocking backend (never one the daemon must not block)',
    takesModes: false,
    positional: 'ADDR',
    options: [
      CONFIG,
      {
        name: 'for',
        type: 'string',
        valueName: 'DURATION',
        description: 'How long: 90, 90s, 15m, 2h, 7d, 1w (default BLOCK_TIME; 0 there means until unblocked)',
      },
      HELP,
    ],
  },
  {
    name: 'unblock',
    summary: 'Lift every ban an address or CIDR block covers, from every backend and the store',
    takesModes: false,
    positional: 'ADDR|CIDR',
    options: [CONFIG, HELP],
  },
  {
    name: 'flush',
    summary: 'Lift every ban portsnare made, in every backend; touches nothing it did not add',
    takesModes: false,
    options: [CONFIG, HELP],
  },
];

export function usage(): string {
  const lines = [
    'Usage: portsnare [-tcp] [-udp] [options]            run the daemon',
    '       portsnare <command> [options]',
    '',
    'Modes (PortSentry flags; one TCP and one UDP mode may be combined):',
    '  -tcp  -udp     classic: listen on TCP_PORTS / UDP_PORTS; a connection or datagram is a hit',
    '  -stcp -sudp    stealth: watch packets to TCP_PORTS / UDP_PORTS (SYN, FIN, NULL, XMAS, UDP probes)',
    '  -atcp -audp    advanced: watch every port below ADVANCED_PORTS_TCP/UDP that no service uses',
    '  Without a mode flag, TCP_MODE/UDP_MODE from the defaults file are used, else -tcp -udp.',
    '',
    'Commands:',
  ];
  const control =
    'status, list, block, unblock and flush talk to the running daemon over STATE_DIR/portsnare.sock (root only); with no daemon they act on the ban store directly.';
  for (const command of COMMANDS) {
    const name = command.positional ? `${command.name} ${command.positional}` : command.name;
    lines.push(`  ${name.padEnd(22)} ${command.summary}`);
  }
  lines.push('', control);
  for (const command of COMMANDS) {
    lines.push('', `Options of ${command.name}:`);
    for (const option of command.options) {
      const flag = `${option.short ? `-${option.short}, ` : '    '}--${option.name}${option.valueName ? ` ${option.valueName}` : ''}`;
      lines.push(`  ${flag.padEnd(28)} ${option.description}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
