/**
 * @module cli/main
 * The entry point: parses the command line, runs one command, and turns its result into an exit
 * status. Exit statuses: 0 success, 1 failure at run time, 64 usage error, 78 configuration error.
 */
import { ExitCodes } from '../exit-codes.ts';
import { ErrorCodes, PortsnareError, describeError } from '../errors.ts';
import { PORTSNARE_VERSION, PORTSENTRY_COMPAT_VERSION } from '../version.ts';
import { checkConfigCommand } from './check-config.ts';
import { usage } from './definitions.ts';
import { parseCommandLine } from './parse.ts';
import { replayCommand } from './replay.ts';
import { blockCommand } from './block.ts';
import { flushCommand } from './flush.ts';
import { listCommand } from './list.ts';
import { statusCommand } from './status.ts';
import { unblockCommand } from './unblock.ts';
import { runCommandLine } from './run.ts';

export async function main(argv: readonly string[]): Promise<number> {
  let cmd;
  try {
    cmd = parseCommandLine(argv);
  } catch (err) {
    if (err instanceof PortsnareError && err.code === ErrorCodes.USAGE) {
      process.stderr.write(`portsnare: ${err.message}\n\n${usage()}`);
      return ExitCodes.USAGE;
    }
    throw err;
  }
  if (cmd.options['help']) {
    process.stdout.write(usage());
    return 0;
  }
  if (cmd.options['version']) {
    process.stdout.write(
      `portsnare ${PORTSNARE_VERSION} (PortSentry ${PORTSENTRY_COMPAT_VERSION} compatible)\n`,
    );
    return 0;
  }
  switch (cmd.command.name) {
    case 'check-config':
      return checkConfigCommand(cmd, process.stdout);
    case 'replay':
      return replayCommand(cmd, process.stdout);
    case 'status':
      return statusCommand(cmd, process.stdout, process.stderr);
    case 'list':
      return listCommand(cmd, process.stdout, process.stderr);
    case 'block':
      return blockCommand(cmd, process.stdout, process.stderr);
    case 'unblock':
      return unblockCommand(cmd, process.stdout, process.stderr);
    case 'flush':
      return flushCommand(cmd, process.stdout, process.stderr);
    default:
      return runCommandLine(cmd);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // A stopped daemon exits even if some library left a handle open.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err: unknown) => {
    process.stderr.write(`portsnare: ${describeError(err)}\n`);
    process.exitCode = 1;
  },
);
