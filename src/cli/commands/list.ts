/**
 * @module cli/commands/list
 * `portsnare list [--json]`: the current bans, from the daemon or, when none runs, from the store.
 */
import { ExitCodes } from '../../exit-codes.ts';
import { toBanView } from '../../control/protocol.ts';
import { formatBanTable } from '../ban-table.ts';
import { defineCommand } from '../command.ts';
import { askDaemon, openDirect, runControlCommand } from '../control-session.ts';
import { CONFIG, HELP, JSON_OUTPUT } from '../options.ts';

export const list = defineCommand({
  name: 'list',
  description: 'The current bans: address, since, expires, ports, scan type, mode, backends',
  takesModes: false,
  options: { config: CONFIG, json: JSON_OUTPUT, help: HELP },
  exec: ({ options }, { out, err }) =>
    runControlCommand(options.config, out, err, async (session) => {
      let bans = await askDaemon(session, { command: 'list' });
      if (bans === null) {
        const direct = await openDirect(session, 'read');
        bans = direct.keeper.list().map(toBanView);
        await direct.close();
      }
      out.write(options.json ? `${JSON.stringify(bans, null, 2)}\n` : formatBanTable(bans));
      return ExitCodes.OK;
    }),
});
