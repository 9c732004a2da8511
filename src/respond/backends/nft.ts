/**
 * @module respond/backends/nft
 * The nftables backend: a ban is an element of portsnare's own set (respond/nft does the nft work),
 * added with its timeout, removed on lift, re-added after a restart; many at once in one nft run per
 * NFT_CHUNK addresses. Not the table, the script text or the watchdog (respond/nft/*).
 */
import { describeError, ErrorCodes, PortsnareError } from '../../errors.ts';
import { validBan, type NftBan } from '../nft/script.ts';
import type { ActionReport, Backend, LiftTarget, ReapplyTarget, ResponseRequest } from '../backend.ts';
import type { BackendContext } from './context.ts';

/** The part of NftResponder the backend needs. */
export interface NftBlocker {
  readonly table: string;
  block(bans: NftBan[]): Promise<void>;
  unblock(addresses: string[]): Promise<void>;
  flushSets?(): Promise<void>;
}

/** Addresses per nft run when many bans are added or removed at once. */
export const NFT_CHUNK = 50_000;

/**
 * The bans nft can take, and a reason for each it cannot: checked one by one before any script is
 * built, so one bad address (a damaged store record) fails only itself, never its whole batch.
 */
function sortOut<T>(items: readonly T[], ban: (item: T) => NftBan): { good: T[]; bad: [T, string][] } {
  const good: T[] = [];
  const bad: [T, string][] = [];
  for (const item of items) {
    try {
      validBan(ban(item));
      good.push(item);
    } catch (err) {
      bad.push([item, describeError(err)]);
    }
  }
  return { good, bad };
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += NFT_CHUNK) out.push(items.slice(i, i + NFT_CHUNK));
  return out;
}

export class NftBackend implements Backend {
  readonly name = 'nft';
  readonly key = 'NFT';
  readonly blocks = true;
  readonly #ctx: BackendContext;
  readonly #nft: NftBlocker | null;

  constructor(ctx: BackendContext, nft: NftBlocker | null) {
    this.#ctx = ctx;
    this.#nft = nft;
  }

  inUse(): boolean {
    return this.#nft !== null;
  }

  describe(): string {
    return this.#nft ? `nftables set inet ${this.#nft.table} blocked4/blocked6` : 'nftables: not in use';
  }

  async block(request: ResponseRequest): Promise<ActionReport> {
    const seconds = request.timeoutSeconds ? request.timeoutSeconds : null;
    const table = this.#nft?.table ?? '';
    const set = `inet ${table} ${request.address.includes(':') ? 'blocked6' : 'blocked4'}`;
    try {
      if (!this.#nft) throw unavailable('the nftables backend is not in use (BLOCK_BACKEND)');
      await this.#nft.block([{ address: request.address, timeoutSeconds: seconds ?? 0 }]);
      this.#ctx.log.log({ kind: 'blockedNft', address: request.address, set, seconds });
      return { key: 'NFT', ok: true, detail: set };
    } catch (err) {
      const reason = describeError(err);
      this.#ctx.log.log({ kind: 'blockError', address: request.address });
      this.#ctx.log.log({ kind: 'actionFailedDetail', key: 'NFT', address: request.address, reason });
      return { key: 'NFT', ok: false, detail: reason };
    }
  }

  async lift(bans: readonly LiftTarget[]): Promise<string[]> {
    const undone: string[] = [];
    const { good, bad } = sortOut(bans, (b) => ({ address: b.address }));
    for (const [b, reason] of bad) {
      this.#ctx.log.log({ kind: 'unblockFailed', address: b.address, backend: 'nftables', reason });
    }
    for (const chunk of chunks(good)) {
      try {
        if (!this.#nft) throw unavailable('the nftables backend is not in use (BLOCK_BACKEND)');
        await this.#nft.unblock(chunk.map((b) => b.address));
        for (const b of chunk) undone.push(b.address);
      } catch (err) {
        const reason = describeError(err);
        for (const b of chunk) {
          this.#ctx.log.log({ kind: 'unblockFailed', address: b.address, backend: 'nftables', reason });
        }
      }
    }
    return undone;
  }

  async reapply(bans: readonly ReapplyTarget[]): Promise<number> {
    const secondsLeft = (b: ReapplyTarget) => b.secondsLeft ?? 0;
    const { good, bad } = sortOut(bans, (b) => ({ address: b.address, timeoutSeconds: secondsLeft(b) }));
    let failures = bad.length;
    for (const [b, reason] of bad) {
      this.#ctx.log.log({ kind: 'actionFailedDetail', key: 'NFT', address: b.address, reason });
    }
    for (const chunk of chunks(good)) {
      try {
        if (!this.#nft)
          throw unavailable('stored bans use nftables, which is not in use now (BLOCK_BACKEND)');
        await this.#nft.block(chunk.map((b) => ({ address: b.address, timeoutSeconds: secondsLeft(b) })));
      } catch (err) {
        failures += chunk.length;
        const address = chunk.length === 1 ? (chunk[0]?.address ?? '') : `${chunk.length} addresses`;
        this.#ctx.log.log({ kind: 'actionFailedDetail', key: 'NFT', address, reason: describeError(err) });
      }
    }
    return failures;
  }

  /** `flush`: empties portsnare's sets (everything in our own table is ours); a failure is logged. */
  async emptySets(): Promise<void> {
    try {
      await this.#nft?.flushSets?.();
    } catch (err) {
      this.#ctx.log.log({ kind: 'nftError', reason: describeError(err) });
    }
  }
}

function unavailable(text: string): PortsnareError {
  return new PortsnareError(ErrorCodes.BACKEND_UNAVAILABLE, text);
}
