/**
 * @module cli/dispatch
 * One command line to one exit status: parses it (a usage error prints the message and the usage
 * text, exit 64), answers --help and --version, else runs the command the table names.
 */
import { ExitCodes, type ExitCode } from '../exit-codes.ts';
import { ErrorCodes, PortsnareError } from '../errors.ts';
import { PORTSNARE_VERSION, PORTSENTRY_COMPAT_VERSION } from '../version.ts';
import type { CommandIo, Invocation } from './command.ts';
import { parseCommandLine } from './parse.ts';
import { usage } from './usage.ts';

export async function dispatch(argv: readonly string[], io: CommandIo): Promise<ExitCode> {
  let invocation: Invocation;
  try {
    invocation = parseCommandLine(argv);
  } catch (err) {
    if (err instanceof PortsnareError && err.code === ErrorCodes.USAGE) {
      io.err.write(`portsnare: ${err.message}\n\n${usage()}`);
      return ExitCodes.USAGE;
    }
    throw err;
  }
  if (invocation.options['help']) {
    io.out.write(usage());
    return ExitCodes.OK;
  }
  if (invocation.options['version']) {
    io.out.write(`portsnare ${PORTSNARE_VERSION} (PortSentry ${PORTSENTRY_COMPAT_VERSION} compatible)\n`);
    return ExitCodes.OK;
  }
  return invocation.run(io);
}
