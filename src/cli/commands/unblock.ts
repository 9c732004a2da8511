/**
 * @module cli/commands/unblock
 * `portsnare unblock ADDR|CIDR`: lifts every ban the address or block covers from every backend and
 * the store (the daemon logs it, and the host is no longer "already blocked"). Through the daemon
 * when it runs, else directly.
 */
import { ExitCodes } from '../../exit-codes.ts';
import { canonicalAddress, parseCidr } from '../../net/address.ts';
import { toBanView } from '../../control/protocol.ts';
import { ErrorCodes, PortsnareError } from '../../errors.ts';
import { defineCommand } from '../command.ts';
import { askDaemon, openDirect, runControlCommand } from '../control-session.ts';
import { CONFIG, HELP } from '../options.ts';

export const unblock = defineCommand({
  name: 'unblock',
  argument: 'ADDR|CIDR',
  description: 'Lift every ban an address or CIDR block covers, from every backend and the store',
  takesModes: false,
  options: { config: CONFIG, help: HELP },
  exec: ({ options, positional }, { out, err }) =>
    runControlCommand(options.config, out, err, async (session) => {
      const target = positional ?? '';
      if (canonicalAddress(target) === null && !parseCidr(target).ok) {
        throw new PortsnareError(ErrorCodes.USAGE, `not an address or CIDR block: ${JSON.stringify(target)}`);
      }
      let reply = await askDaemon(session, { command: 'unblock', target });
      if (reply === null) {
        const direct = await openDirect(session, 'lift');
        try {
          const { lifted, found } = await direct.keeper.unblock(target);
          reply = { lifted: lifted.map(toBanView), found };
        } finally {
          await direct.close();
        }
      }
      for (const ban of reply.lifted) out.write(`unblocked ${ban.address} (${ban.backends.join(', ')})\n`);
      if (!reply.found)
        out.write(`${target}: no ban found (removed from the nft set and hosts.deny if it was there)\n`);
      return ExitCodes.OK;
    }),
});
