/**
 * @module cli/list
 * `portsnare list [--json]`: the current bans, from the daemon or, when none runs, from the store.
 */
import { banView, type BanView } from '../control/protocol.ts';
import { formatBanTable } from './ban-table.ts';
import { askDaemon, openDirect, runControlCommand } from './control-session.ts';
import type { ParsedCommandLine } from './parse.ts';

export function listCommand(
  cmd: ParsedCommandLine,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  return runControlCommand(cmd, out, err, async (session) => {
    let bans = (await askDaemon(session, { command: 'list' })) as BanView[] | null;
    if (bans === null) {
      const direct = await openDirect(session, 'read');
      bans = direct.keeper.list().map(banView);
      await direct.close();
    }
    out.write(cmd.options['json'] ? `${JSON.stringify(bans, null, 2)}\n` : formatBanTable(bans));
    return 0;
  });
}
