/**
 * @module cli/usage
 * The `--help` text, generated from the command table: one line per command (name, argument,
 * description), then each command's options, so help can never drift from behaviour.
 */
import type { Command, OptionDefinition } from './command.ts';
import { COMMANDS } from './commands/index.ts';

const HEADER = [
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

const CONTROL_NOTE =
  'status, list, block, unblock and flush talk to the running daemon over STATE_DIR/portsnare.sock (root only); with no daemon they act on the ban store directly.';

/** `block ADDR`: the command's name and its argument. */
export function synopsis(command: Command): string {
  return command.argument ? `${command.name} ${command.argument}` : command.name;
}

function optionLine(name: string, option: OptionDefinition): string {
  const flag = `${option.short ? `-${option.short}, ` : '    '}--${name}${option.valueName ? ` ${option.valueName}` : ''}`;
  return `  ${flag.padEnd(28)} ${option.description}`;
}

export function usage(commands: readonly Command[] = COMMANDS): string {
  const lines = [...HEADER];
  for (const command of commands) lines.push(`  ${synopsis(command).padEnd(22)} ${command.description}`);
  lines.push('', CONTROL_NOTE);
  for (const command of commands) {
    lines.push('', `Options of ${command.name}:`);
    for (const [name, option] of Object.entries(command.options)) lines.push(optionLine(name, option));
  }
  return `${lines.join('\n')}\n`;
}
