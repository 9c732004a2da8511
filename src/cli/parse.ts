/**
 * @module cli/parse
 * argv to a command, its modes and its options. PortSentry's one-token mode flags (`-tcp`) are taken
 * out first by exact match, because a general parser would read `-tcp` as `-t -c p`; the rest goes to
 * node:util parseArgs in strict mode, so a misspelt option is an error, never a guess.
 */
import { parseArgs } from 'node:util';
import type { Mode } from '../detect/probe.ts';
import { protocolOf } from '../detect/probe.ts';
import { ErrorCodes, PortsnareError } from '../errors.ts';
import { COMMANDS, LEGACY_MODE_FLAGS, type CommandDefinition } from './definitions.ts';

export interface ParsedCommandLine {
  command: CommandDefinition;
  modes: Mode[];
  options: Record<string, string | boolean | string[] | undefined>;
  positional: string | undefined;
}

export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  const rest = [...argv];
  let command = COMMANDS[0] as CommandDefinition;
  const named = COMMANDS.find((c) => c.name === rest[0]);
  if (named) {
    command = named;
    rest.shift();
  }
  const modes: Mode[] = [];
  const remaining: string[] = [];
  for (const token of rest) {
    const mode = LEGACY_MODE_FLAGS[token];
    if (mode === undefined) {
      remaining.push(token);
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
  let values: ParsedCommandLine['options'];
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: remaining,
      strict: true,
      allowPositionals: command.positional !== undefined,
      options: Object.fromEntries(
        command.options.map((o) => [
          o.name,
          { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) },
        ]),
      ),
    });
    values = parsed.values as ParsedCommandLine['options'];
    positionals = parsed.positionals;
  } catch (err) {
    throw new PortsnareError(ErrorCodes.USAGE, (err as Error).message, { cause: err });
  }
  if (positionals.length > 1) {
    throw new PortsnareError(
      ErrorCodes.USAGE,
      `${command.name} takes one ${command.positional ?? 'argument'}`,
    );
  }
  if (command.positional && positionals.length === 0 && !values['help']) {
    throw new PortsnareError(ErrorCodes.USAGE, `${command.name} needs ${command.positional}`);
  }
  return { command, modes, options: values, positional: positionals[0] };
}
