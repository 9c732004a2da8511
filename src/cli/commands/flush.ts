/**
 * @module cli/commands/flush
 * `portsnare flush`: lifts every ban portsnare made, in every backend (nft elements, the hosts.deny
 * lines it added, UNKILL_ROUTE for its routes), and empties the store. Nothing it did not add is
 * touched. Without a daemon, the nft table itself is removed too.
 */
import { ExitCodes } from '../../exit-codes.ts';
import { defineCommand } from '../command.ts';
import { askDaemon, openDirect, runControlCommand } from '../control-session.ts';
import { CONFIG, HELP } from '../options.ts';

export const flush = defineCommand({
  name: 'flush',
  description: 'Lift every ban portsnare made, in every backend; touches nothing it did not add',
  takesModes: false,
  options: { config: CONFIG, help: HELP },
  exec: ({ options }, { out, err }) =>
    runControlCommand(options.config, out, err, async (session) => {
      let reply = await askDaemon(session, { command: 'flush' });
      if (reply === null) {
        const direct = await openDirect(session, 'lift');
        try {
          reply = { lifted: (await direct.keeper.flush()).length };
          await direct.nft?.flush();
        } finally {
          await direct.close();
        }
      }
      out.write(`flushed ${reply.lifted} ban(s)\n`);
      return ExitCodes.OK;
    }),
});
