/**
 * @module daemon/control-handler
 * Answers control-socket requests from the running daemon's own state: status (modes, traps,
 * counters, bans), list, block (never a never-block address; not counted against
 * MAX_BLOCKS_PER_MINUTE), unblock (an address or a CIDR block) and flush. It depends only on the
 * ControlTarget interface below, which the daemon satisfies.
 */
import { canonicalAddress } from '../net/address.ts';
import { ErrorCodes, PortsnareError } from '../errors.ts';
import type { ControlHandler } from '../control/server.ts';
import {
  banView,
  type BlockReply,
  type FlushReply,
  type StatusReport,
  type UnblockReply,
} from '../control/protocol.ts';
import type { Mode } from '../detect/probe.ts';
import type { Settings } from '../config/settings.ts';
import type { BanKeeper } from '../respond/ban-keeper.ts';
import type { Ban } from '../state/ban-store.ts';
import { PORTSNARE_VERSION } from '../version.ts';
import type { TrapSummary } from '../sensors/sensor.ts';

/** What the control socket asks of the running daemon. */
export interface ControlTarget {
  readonly modes: readonly Mode[];
  readonly settings: Settings;
  /** The backends in use, as the log says them. */
  readonly backendDescription: string;
  /** The bans (null before the ban store is open). */
  readonly bans: BanKeeper | null;
  traps(): TrapSummary[];
  allCounters(): Record<string, number>;
  manualBlock(address: string, seconds: number | null): Promise<{ ban: Ban; already: boolean }>;
}

export function controlHandler(daemon: ControlTarget, startedAt: Date): ControlHandler {
  const keeper = () => {
    const bans = daemon.bans;
    if (!bans) throw new PortsnareError(ErrorCodes.STARTING, 'the daemon is still starting');
    return bans;
  };
  return async (request) => {
    switch (request.command) {
      case 'status': {
        const report: StatusReport = {
          running: true,
          pid: process.pid,
          startedAt: startedAt.toISOString(),
          version: PORTSNARE_VERSION,
          modes: [...daemon.modes],
          backend: daemon.backendDescription,
          blockTime: daemon.settings.blockTime,
          traps: daemon.traps(),
          counters: daemon.allCounters(),
          stateDir: daemon.settings.stateDir,
          bans: keeper().list().map(banView),
        };
        return report;
      }
      case 'list':
        return keeper().list().map(banView);
      case 'block': {
        const address = canonicalAddress(request.address);
        if (address === null) {
          throw new PortsnareError(
            ErrorCodes.INVALID_ADDRESS,
            `not an IP address: ${JSON.stringify(request.address)}`,
          );
        }
        const { ban, already } = await daemon.manualBlock(address, request.seconds);
        return { ban: banView(ban), already } satisfies BlockReply;
      }
      case 'unblock': {
        const { lifted, found } = await keeper().unblock(request.target);
        return { lifted: lifted.map(banView), found } satisfies UnblockReply;
      }
      case 'flush':
        return { lifted: (await keeper().flush()).length } satisfies FlushReply;
    }
  };
}
