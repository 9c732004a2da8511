/**
 * @module daemon/dry-run
 * Backends that record what they would do instead of doing it: commands (KILL_ROUTE, KILL_RUN_CMD,
 * UNKILL_ROUTE) are not run, hosts.deny is not written, nft is not touched; each would-be action
 * is kept, in order, as one line of text, and reported as a success. `replay` and tests assemble the
 * daemon's stack with them. BLOCK_BACKEND is followed as the daemon would (`auto` as nft, what it
 * picks where nft works).
 */
import type { Settings } from '../config/settings.ts';
import type { NftBlocker } from '../respond/classic-responder.ts';
import type { CommandResult } from '../respond/exec.ts';
import type { HostsDenyOutcome } from '../respond/hosts-deny.ts';
import type { NftBan } from '../respond/nft.ts';
import type { ResolvedBackend } from './block-backend.ts';

export const DRY_RUN_TABLE = 'portsnare';

export class DryRun {
  /** What would have been done, e.g. `run /sbin/route add ...`, `hosts.deny + ALL: x : DENY`, `nft + x 600`. */
  readonly actions: string[] = [];

  readonly run = (argv: readonly string[]): Promise<CommandResult> => {
    this.actions.push(`run ${argv.join(' ')}`);
    return Promise.resolve({ ok: true });
  };

  readonly addHostsDenyLine = (path: string, line: string): Promise<HostsDenyOutcome> => {
    this.actions.push(`hosts.deny ${path} + ${line}`);
    return Promise.resolve('added');
  };

  readonly addHostsDenyLines = (path: string, lines: string[]): Promise<number> => {
    for (const line of lines) this.actions.push(`hosts.deny ${path} + ${line}`);
    return Promise.resolve(lines.length);
  };

  readonly removeHostsDenyLines = (path: string, lines: string[]): Promise<number> => {
    for (const line of lines) this.actions.push(`hosts.deny ${path} - ${line}`);
    return Promise.resolve(lines.length);
  };

  readonly nft: NftBlocker = {
    table: DRY_RUN_TABLE,
    block: (bans: NftBan[]) => {
      for (const ban of bans) this.actions.push(`nft + ${ban.address} ${ban.timeoutSeconds ?? 0}`);
      return Promise.resolve();
    },
    unblock: (addresses: string[]) => {
      for (const address of addresses) this.actions.push(`nft - ${address}`);
      return Promise.resolve();
    },
    flushSets: () => {
      this.actions.push('nft flush');
      return Promise.resolve();
    },
  };

  /** The backends BLOCK_BACKEND would give, with this recorder standing in for nft. */
  backend(settings: Settings): ResolvedBackend {
    const setting = settings.blockBackend;
    const viaNft = setting !== 'classic';
    const classic = setting === 'classic' || setting === 'both';
    const parts = [viaNft && `nftables (inet ${DRY_RUN_TABLE})`, classic && 'KILL_HOSTS_DENY/KILL_ROUTE'];
    return {
      nft: viaNft ? this.nft : null,
      table: null,
      classic,
      description: parts.filter(Boolean).join(' and '),
      why: 'dry run',
    };
  }
}
