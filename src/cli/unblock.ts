/**
 * @module cli/unblock
 * `portsnare unblock ADDR|CIDR`: lifts every ban the address or block covers from every backend and
 * the store (the daemon logs it, and the host is no longer "already blocked"). Through the daemon
 * when it runs, else directly.
 */
import { canonicalAddress, parseCidr } from '../net/address.ts';
import { banView, type UnblockReply } from '../control/protocol.ts';
import { ErrorCodes, PortsnareError } from '../errors.ts';
import { askDaemon, openDirect, runControlCommand } from './control-session.ts';
import type { ParsedCommandLine } from './parse.ts';

export function unblockCommand(
  cmd: ParsedCommandLine,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  return runControlCommand(cmd, out, err, async (session) => {
    const target = cmd.positional ?? '';
    if (canonicalAddress(target) === null && !parseCidr(target).ok) {
      throw new PortsnareError(ErrorCodes.USAGE, `not an address or CIDR block: ${JSON.stringify(target)}`);
    }
    let reply = (await askDaemon(session, { command: 'unblock', target })) as UnblockReply | null;
    if (reply === null) {
      const direct = await openDirect(session, 'lift');
      try {
        const { lifted, found } = await direct.keeper.unblock(target);
        reply = { lifted: lifted.map(banView), found };
      } finally {
        await direct.close();
      }
    }
    for (const ban of reply.lifted) out.write(`unblocked ${ban.address} (${ban.backends.join(', ')})\n`);
    if (!reply.found)
      out.write(`${target}: no ban found (removed from the nft set and hosts.deny if it was there)\n`);
    return 0;
  });
}
