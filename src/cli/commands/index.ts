/**
 * @module cli/commands/index
 * The command table: every command portsnare has, in the order the usage text lists them. The
 * first is the default (`portsnare -tcp` is `portsnare run -tcp`).
 */
import type { Command } from '../command.ts';
import { block } from './block.ts';
import { checkConfig } from './check-config.ts';
import { flush } from './flush.ts';
import { list } from './list.ts';
import { logcheck } from './logcheck.ts';
import { replay } from './replay.ts';
import { report } from './report.ts';
import { run } from './run.ts';
import { status } from './status.ts';
import { unblock } from './unblock.ts';

export const DEFAULT_COMMAND: Command = run;

export const COMMANDS: readonly Command[] = [
  run,
  checkConfig,
  replay,
  status,
  list,
  block,
  unblock,
  flush,
  logcheck,
  report,
];

/** The command named `name`, or undefined. */
export function findCommand(name: string | undefined): Command | undefined {
  return COMMANDS.find((command) => command.name === name);
}
