/**
 * @module cli/parse
 * argv to a command, its modes and its options. The command is looked up by name in the command
 * table (none named: the default, `run`). PortSentry's one-token mode flags (`-tcp`) are taken out
 * first by exact match, because a general parser would read `-tcp` as `-t -c p`; the rest goes to
 * the command's own strict parser (see cli/command), so a misspelt option is an error, never a guess.
 */
import type { Mode } from '../detect/probe.ts';
import { protocolOf } from '../detect/probe.ts';
import { ErrorCodes, PortsnareError } from '../errors.ts';
import type { Command, Invocation } from './command.ts';
import { DEFAULT_COMMAND, findCommand } from './commands/index.ts';

export const LEGACY_MODE_FLAGS: Readonly<Record<string, Mode>> = {
  '-tcp': 'tcp',
  '-udp': 'udp',
  '-stcp': 'stcp',
  '-sudp': 'sudp',
  '-atcp': 'atcp',
  '-audp': 'audp',
};

/** Takes the mode flags out of `tokens`; what is left goes to the command's parser. */
function takeModes(command: Command, tokens: readonly string[]): { modes: Mode[]; rest: string[] } {
  const modes: Mode[] = [];
  const rest: string[] = [];
  for (const token of tokens) {
    const mode = LEGACY_MODE_FLAGS[token];
    if (mode === undefined) {
      rest.push(token);
      continue;
    }
    if (!command.takesModes)
      throw new PortsnareError(ErrorCodes.USAGE, `${command.name} takes no mode flag (${token})`);
    const clash = modes.find((m) => protocolOf(m) === protocolOf(mode));
    if (clash) {
      throw new PortsnareError(
        ErrorCodes.USAGE,
        `-${clash} and ${token} both watch ${protocolOf(mode).toUpperCase()}: give one TCP mode and one UDP mode at most`,
      );
    }
    modes.push(mode);
  }
  return { modes, rest };
}

/** The command line parsed and ready to run; every mistake in it throws a USAGE PortsnareError. */
export function parseCommandLine(argv: readonly string[]): Invocation {
  const named = findCommand(argv[0]);
  const command = named ?? DEFAULT_COMMAND;
  const { modes, rest } = takeModes(command, named ? argv.slice(1) : argv);
  return command.parse(rest, modes);
}
