/**
 * @module cli/block
 * `portsnare block ADDR [--for DURATION]`: bans an address by hand in every blocking backend, for
 * DURATION (`90`, `90s`, `15m`, `2h`, `7d`, `1w`) or BLOCK_TIME, and records it. Never an address
 * the daemon must not block (its own, gateways, resolvers, the ignore list). Through the daemon when
 * it runs, else directly.
 */
import { canonicalAddress } from '../net/address.ts';
import { banView, parseDuration, type BlockReply } from '../control/protocol.ts';
import { MAX_BLOCK_TIME } from '../config/settings.ts';
import { ErrorCodes, PortsnareError } from '../errors.ts';
import { askDaemon, openDirect, runControlCommand } from './control-session.ts';
import type { ParsedCommandLine } from './parse.ts';
import { neverBlockReason } from './never-block.ts';

export function blockCommand(
  cmd: ParsedCommandLine,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  return runControlCommand(cmd, out, err, async (session) => {
    const address = canonicalAddress(cmd.positional ?? '');
    if (address === null) {
      throw new PortsnareError(ErrorCodes.USAGE, `not an IP address: ${JSON.stringify(cmd.positional)}`);
    }
    const forText = cmd.options['for'] as string | undefined;
    let seconds: number | null = null;
    if (forText !== undefined) {
      seconds = parseDuration(forText);
      if (seconds === null || seconds > MAX_BLOCK_TIME) {
        throw new PortsnareError(
          ErrorCodes.USAGE,
          `--for ${forText}: give a duration like 90, 90s, 15m, 2h, 7d or 1w (at most ${MAX_BLOCK_TIME} s)`,
        );
      }
    }
    let reply = (await askDaemon(session, { command: 'block', address, seconds })) as BlockReply | null;
    if (reply === null) {
      const refusal = await neverBlockReason(session.settings, address);
      if (refusal)
        throw new PortsnareError(ErrorCodes.INVALID_ADDRESS, `refusing to block ${address}: ${refusal}`);
      const direct = await openDirect(session, 'block');
      try {
        const duration = seconds ?? (session.settings.blockTime > 0 ? session.settings.blockTime : null);
        const { ban, already } = await direct.keeper.banByHand(address, duration);
        reply = { ban: banView(ban), already };
      } finally {
        await direct.close();
      }
    }
    const until = reply.ban.expires === null ? 'until unblocked' : `until ${reply.ban.expires}`;
    out.write(
      reply.already
        ? `${address} was already blocked (${reply.ban.backends.join(', ')}) ${until}\n`
        : `blocked ${address} (${reply.ban.backends.join(', ')}) ${until}\n`,
    );
    return 0;
  });
}
