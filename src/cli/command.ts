/**
 * @module cli/command
 * What a command is: its name, its one argument, its description, its options with their types,
 * and its `exec`. `defineCommand` turns such a definition into an entry of the command table that
 * parses its own part of argv (node:util parseArgs, strict, typed from the option definitions)
 * and hands `exec` options typed for that command, so no command casts what it parsed.
 */
import { parseArgs } from 'node:util';
import type { Mode } from '../detect/probe.ts';
import { ErrorCodes, PortsnareError } from '../errors.ts';
import type { ExitCode } from '../exit-codes.ts';

export interface OptionDefinition {
  readonly type: 'boolean' | 'string';
  readonly short?: string;
  readonly multiple?: boolean;
  /** The placeholder shown in the usage text (`--config PATH`). */
  readonly valueName?: string;
  readonly description: string;
}

/** A command's options by long name, in the order the usage text lists them. */
export type OptionDefinitions = Readonly<Record<string, OptionDefinition>>;

/** Every command takes --help. */
export type CommandOptions = OptionDefinitions & { readonly help: OptionDefinition & { type: 'boolean' } };

type ParseConfig<O extends OptionDefinitions> = {
  args: string[];
  options: O;
  strict: true;
  allowPositionals: boolean;
};

/** The parsed options of a command, typed from its definitions (string, boolean or string[]). */
export type OptionValues<O extends OptionDefinitions> = ReturnType<
  typeof parseArgs<ParseConfig<O>>
>['values'];

export type OptionValue = string | boolean | string[];

/** What a command is run with. */
export interface CommandArgs<O extends OptionDefinitions> {
  modes: Mode[];
  options: OptionValues<O>;
  /** The one positional argument, if the command takes one and it was given. */
  positional: string | undefined;
}

export interface CommandIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

export interface CommandDefinition<O extends CommandOptions> {
  readonly name: string;
  /** Name of the one positional argument, if the command takes one (shown in the usage text). */
  readonly argument?: string;
  readonly description: string;
  /** Accepts PortSentry's one-token mode flags (-tcp, -udp...). */
  readonly takesModes: boolean;
  readonly options: O;
  exec(args: CommandArgs<O>, io: CommandIo): Promise<ExitCode>;
}

/** A command line parsed, with its options in their untyped form (for main and tests). */
export interface ParsedCommandLine {
  command: Command;
  modes: Mode[];
  options: Readonly<Record<string, OptionValue | undefined>>;
  positional: string | undefined;
}

/** A parsed command line ready to run. */
export interface Invocation extends ParsedCommandLine {
  run(io: CommandIo): Promise<ExitCode>;
}

/** An entry of the command table: a definition with its option types erased. */
export interface Command {
  readonly name: string;
  readonly argument: string | undefined;
  readonly description: string;
  readonly takesModes: boolean;
  readonly options: OptionDefinitions;
  /** Parses what follows the command name once the mode flags are taken out; USAGE errors throw. */
  parse(args: readonly string[], modes: Mode[]): Invocation;
}

export function defineCommand<const O extends CommandOptions>(definition: CommandDefinition<O>): Command {
  const command: Command = {
    name: definition.name,
    argument: definition.argument,
    description: definition.description,
    takesModes: definition.takesModes,
    options: definition.options,
    parse(args, modes) {
      let parsed;
      try {
        parsed = parseArgs<ParseConfig<O>>({
          args: [...args],
          options: definition.options,
          strict: true,
          allowPositionals: definition.argument !== undefined,
        });
      } catch (err) {
        throw new PortsnareError(ErrorCodes.USAGE, err instanceof Error ? err.message : String(err), {
          cause: err,
        });
      }
      const { values, positionals } = parsed;
      const options: ParsedCommandLine['options'] = values;
      if (positionals.length > 1) {
        throw new PortsnareError(
          ErrorCodes.USAGE,
          `${definition.name} takes one ${definition.argument ?? 'argument'}`,
        );
      }
      if (definition.argument && positionals.length === 0 && !options['help']) {
        throw new PortsnareError(ErrorCodes.USAGE, `${definition.name} needs ${definition.argument}`);
      }
      const typed: CommandArgs<O> = { modes, options: values, positional: positionals[0] };
      return {
        command,
        modes,
        options,
        positional: typed.positional,
        run: (io) => definition.exec(typed, io),
      };
    },
  };
  return command;
}
