/**
 * @module respond/backends/command-action
 * The response step of a backend that runs a KILL_* template (KILL_ROUTE, KILL_RUN_CMD): runs it and
 * logs 1.2's success line, or its failure line plus the reason. Which template, and the undo, are
 * the backend's own (respond/backends/route, respond/backends/run-cmd).
 */
import { substituteMacros, type CommandTemplate, type MacroValues } from '../../config/command-template.ts';
import type { ActionReport } from '../backend.ts';
import { runSteps, type BackendContext } from './context.ts';

export async function commandAction(
  ctx: BackendContext,
  key: 'KILL_ROUTE' | 'KILL_RUN_CMD',
  template: CommandTemplate,
  values: MacroValues,
  success: 'blockedRoute' | 'externalCommand',
  failed: 'blockError' | 'runCommandError',
): Promise<ActionReport> {
  const command = substituteMacros(template.text, values);
  const failure = await runSteps(ctx.run, template, values);
  if (failure === null) {
    ctx.log.log({ kind: success, address: values.target, command });
    return { key, ok: true, detail: command };
  }
  ctx.log.log({ kind: failed, address: values.target });
  ctx.log.log({ kind: 'actionFailedDetail', key, address: values.target, reason: failure });
  return { key, ok: false, detail: failure };
}
