/**
 * @module cli/commands/block
 * `portsnare block ADDR [--for DURATION]`: bans an address by hand in every blocking backend, for
 * DURATION (`90`, `90s`, `15m`, `2h`, `7d`, `1w`) or BLOCK_TIME, and records it. Never an address
 * the daemon must not block (not a real peer, its own, gateways, resolvers, the ignore list). Through the daemon when
 * it runs, else directly.
 */
import { ExitCodes } from '../../exit-codes.ts';
import { canonicalAddress } from '../../net/address.ts';
import { parseDuration, toBanView } from '../../control/protocol.ts';
import { MAX_BLOCK_TIME } from '../../config/settings.ts';
import { ErrorCodes, PortsnareError } from '../../errors.ts';
import { defineCommand } from '../command.ts';
import { askDaemon, openDirect, runControlCommand } from '../control-session.ts';
import { neverBlockReason, notAPeerReason } from '../never-block.ts';
import { CONFIG, HELP } from '../options.ts';

/** `--for` as seconds (null: not given, BLOCK_TIME applies); a bad duration is a USAGE error. */
function forSeconds(text: string | undefined): number | null {
  if (text === undefined) return null;
  const seconds = parseDuration(text);
  if (seconds === null || seconds > MAX_BLOCK_TIME) {
    throw new PortsnareError(
      ErrorCodes.USAGE,
      `--for ${text}: give a duration like 90, 90s, 15m, 2h, 7d or 1w (at most ${MAX_BLOCK_TIME} s)`,
    );
  }
  return seconds;
}

export const block = defineCommand({
  name: 'block',
  argument: 'ADDR',
  description: 'Ban an address by hand in every blocking backend (never one the daemon must not block)',
  takesModes: false,
  options: {
    config: CONFIG,
    for: {
      type: 'string',
      valueName: 'DURATION',
      description: 'How long: 90, 90s, 15m, 2h, 7d, 1w (default BLOCK_TIME; 0 there means until unblocked)',
    },
    help: HELP,
  },
  exec: ({ options, positional }, { out, err }) =>
    runControlCommand(options.config, out, err, async (session) => {
      const address = canonicalAddress(positional ?? '');
      if (address === null) {
        throw new PortsnareError(ErrorCodes.USAGE, `not an IP address: ${JSON.stringify(positional)}`);
      }
      const seconds = forSeconds(options.for);
      // Checked here too, so the answer is the same with and without a daemon (the daemon checks it itself).
      const notAPeer = notAPeerReason(address);
      if (notAPeer)
        throw new PortsnareError(ErrorCodes.INVALID_ADDRESS, `refusing to block ${address}: ${notAPeer}`);
      let reply = await askDaemon(session, { command: 'block', address, seconds });
      if (reply === null) {
        const refusal = await neverBlockReason(session.settings, address);
        if (refusal)
          throw new PortsnareError(ErrorCodes.INVALID_ADDRESS, `refusing to block ${address}: ${refusal}`);
        const direct = await openDirect(session, 'block');
        try {
          const duration = seconds ?? (session.settings.blockTime > 0 ? session.settings.blockTime : null);
          const { ban, already } = await direct.keeper.banByHand(address, duration);
          reply = { ban: toBanView(ban), already };
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
      return ExitCodes.OK;
    }),
});
