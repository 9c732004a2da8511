/**
 * @module cli/flush
 * `portsnare flush`: lifts every ban portsnare made, in every backend (nft elements, the hosts.deny
 * lines it added, UNKILL_ROUTE for its routes), and empties the store. Nothing it did not add is
 * touched. Without a daemon, the nft table itself is removed too.
 */
import type { FlushReply } from '../control/protocol.ts';
import { askDaemon, openDirect, runControlCommand } from './control-session.ts';
import type { ParsedCommandLine } from './parse.ts';

export function flushCommand(
  cmd: ParsedCommandLine,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  return runControlCommand(cmd, out, err, async (session) => {
    let reply = (await askDaemon(session, { command: 'flush' })) as FlushReply | null;
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
    return 0;
  });
}
