/**
 * @module test/helpers/backend-context
 * A BackendContext for the backends' unit tests: settings from config text, the log lines as 1.2
 * prints them, and a fake command runner that records each argument vector and fails as told.
 */
import { parseConfText } from '../../src/config/conf-file.ts';
import { settingsFromConf } from '../../src/config/settings.ts';
import { formatMessage } from '../../src/report/messages.ts';
import type { CommandResult } from '../../src/respond/exec.ts';
import type { BackendContext } from '../../src/respond/backends/context.ts';

export function fakeContext(conf: string, results: Record<string, CommandResult> = {}) {
  const { settings } = settingsFromConf(parseConfText('/t.conf', conf));
  const lines: string[] = [];
  const ran: string[][] = [];
  const ctx: BackendContext = {
    settings: () => settings,
    log: { log: (m) => lines.push(formatMessage(m)), close: () => undefined },
    run: (argv) => {
      ran.push([...argv]);
      return Promise.resolve(results[argv[0] ?? ''] ?? { ok: true });
    },
  };
  return { ctx, lines, ran };
}
