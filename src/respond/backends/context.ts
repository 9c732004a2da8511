/**
 * @module respond/backends/context
 * What every backend is built with: the current settings (they change on reload), the alert log its
 * PortSentry lines go to, and the command runner. Also the one helper two backends share to run a
 * KILL_* template's `&&` steps. Not any backend's own behaviour.
 */
import type { Settings } from '../../config/settings.ts';
import { expandCommand, type CommandTemplate, type MacroValues } from '../../config/command-template.ts';
import type { AlertLog } from '../../report/alert-log.ts';
import type { CommandRunner } from '../exec.ts';

export interface BackendContext {
  settings: () => Settings;
  log: AlertLog;
  run: CommandRunner;
}

/** Runs each `&&` step in turn; resolves to null on success or the first failure's reason. */
export async function runSteps(
  run: CommandRunner,
  template: CommandTemplate,
  values: MacroValues,
): Promise<string | null> {
  for (const argv of expandCommand(template, values)) {
    const result = await run(argv);
    if (!result.ok) return `${argv[0] ?? ''}: ${result.reason ?? 'failed'}`;
  }
  return null;
}
