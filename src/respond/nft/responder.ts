/**
 * @module respond/nft/responder
 * Native nftables bans. portsnare owns exactly one table, `inet portsnare` (or the `table` option),
 * and never reads or writes any other (its layout: respond/nft/script). This module owns the order
 * of nft runs: writes and reads go through one queue, in call order, and block() calls made before
 * their batch starts (the same tick, or within `batchDelayMs`) and not separated by another
 * operation share one run with one `add element` statement per set (ecosystem.md: 10,000 elements
 * in ~30-50 ms that way, ~1.1 s as separate statements). A failed run rejects with a FirewallError
 * carrying the command and nft's stderr. Writes are text batches on stdin (`nft -f -`, one
 * transaction), reads are JSON (`nft -j list ...`; `nft -j -f -` cannot read a Node pipe).
 *
 * Why prerouting at -300 (`raw`): the drop runs after defragmentation (-400) and before conntrack
 * (-200) and destination NAT (-100). A banned host therefore never creates a conntrack entry, and
 * traffic to a container's published port, which DNAT turns into forwarded traffic that never passes
 * an INPUT chain, is dropped too. The flip side: on a router the ban also drops traffic the banned
 * host sends through this machine, not only to it.
 *
 * Timed bans are kernel-side: an element added with `timeout Ns` disappears by itself. nft 1.0.6
 * accepts at most 99,999,999 s (measured; longer is "value too large"). Re-adding a banned address
 * replaced its timeout on this machine's kernel (6.18, measured); a kernel without set element
 * updates may keep the first one.

 */
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, PortsnareError } from '../../errors.ts';
import { isMissing, isOurChain, setElements, type NftListedBan } from './parser.ts';
import { defaultNftRun, FirewallError, type NftRun, type NftRunResult } from './runner.ts';
import {
  CHAIN,
  MARKER,
  SETS,
  deleteTableScript,
  elementStatements,
  flushSetsScript,
  tableScript,
  validAddress,
  validBan,
  type NftBan,
} from './script.ts';

export interface NftResponderOptions {
  /** Path of the nft binary. Default `nft` (looked up in PATH). */
  nft?: string;
  /** Name of the table portsnare owns (family inet). Default `portsnare`. */
  table?: string;
  /**
   * How nft is run. Default: libnftables in this process when `nft` is the plain `nft` and the
   * library opens, else the program spawned without a shell, killed after NFT_TIMEOUT_MS.
   */
  run?: NftRun;
  /** How long block() waits for more calls before running nft. Default 0: calls of the same tick. */
  batchDelayMs?: number;
}

interface OpenBatch {
  /** Canonical address -> nft element text; a later ban of the same address wins. */
  elements: Map<string, string>;
  done: Promise<void>;
}

export class NftResponder {
  readonly table: string;
  private readonly nft: string;
  private readonly run: NftRun;
  private readonly batchDelayMs: number;
  private tail: Promise<unknown> = Promise.resolve();
  private openBatch: OpenBatch | undefined;
  /** deferTable(): the table is created by the first block(), not before. */
  private deferred = false;
  private ensuring: Promise<void> | undefined;
  /** ensureTable() succeeded at least once in this process. */
  private created = false;

  constructor(opts: NftResponderOptions = {}) {
    this.nft = opts.nft ?? 'nft';
    this.table = opts.table ?? 'portsnare';
    this.run = opts.run ?? defaultNftRun(this.nft);
    this.batchDelayMs = opts.batchDelayMs ?? 0;
    if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(this.table)) {
      throw new PortsnareError(
        ErrorCodes.CONFIG,
        `invalid nftables table name: ${JSON.stringify(this.table)}`,
      );
    }
    if (!Number.isFinite(this.batchDelayMs) || this.batchDelayMs < 0) {
      throw new RangeError(`batchDelayMs must be >= 0, got ${this.batchDelayMs}`);
    }
  }

  /** Creates what is missing of the table, sets and chain, and resets the chain to its two rules. */
  ensureTable(): Promise<void> {
    return this.enqueue(async () => {
      await this.write(tableScript(this.table));
      this.created = true;
    });
  }

  /** Whether ensureTable() has run here (so the table is ours to watch). */
  get tableCreated(): boolean {
    return this.created;
  }

  /**
   * Checks that ensureTable() would succeed (`nft --check`: nothing changes) and defers the table to
   * the first block(): a daemon that only logs leaves the ruleset as it found it.
   */
  async deferTable(): Promise<void> {
    await this.enqueue(async () => {
      const result = await this.exec([this.nft, '-c', '-f', '-'], tableScript(this.table));
      if (result.code !== 0) {
        throw new FirewallError(`${this.nft} -c -f -`, result.code, result.stderr, tableScript(this.table));
      }
    });
    this.deferred = true;
  }

  /** With deferTable(): the table, made once, before the first ban. */
  private tableReady(): Promise<void> {
    this.ensuring ??= this.ensureTable().finally(() => (this.ensuring = undefined));
    return this.ensuring;
  }

  /**
   * True if our table is there (its marker set is): cheap at any number of bans. It does not see a
   * chain or rule deleted by hand inside a table that stays; isInstalled() does, at a cost that
   * grows with the bans.
   */
  isPresent(): Promise<boolean> {
    return this.enqueue(async () => (await this.read(['list', 'set', 'inet', this.table, MARKER])) !== null);
  }

  /** True if the table, its base chain and both drop rules are there (slow with many bans: see MARKER). */
  isInstalled(): Promise<boolean> {
    return this.enqueue(async () => {
      const result = await this.read(['list', 'chain', 'inet', this.table, CHAIN]);
      return result !== null && isOurChain(result.stdout);
    });
  }

  /** Adds the bans. Calls made before the batch runs share its single nft run and its outcome. */
  async block(bans: NftBan[]): Promise<void> {
    const valid = bans.map(validBan);
    if (valid.length === 0) return;
    // Only a deferred table costs an await here: otherwise calls keep their order synchronously.
    if (this.deferred && !this.created) await this.tableReady();
    let batch = this.openBatch;
    if (!batch) {
      const elements = new Map<string, string>();
      const done = this.enqueue(async () => {
        await (this.batchDelayMs > 0 ? sleep(this.batchDelayMs) : nextTurn());
        if (this.openBatch?.elements === elements) this.openBatch = undefined;
        await this.write(elementStatements(this.table, 'add', elements));
      });
      batch = this.openBatch = { elements, done };
    }
    for (const { address, element } of valid) {
      batch.elements.delete(address); // keep the newest element text, in call order
      batch.elements.set(address, element);
    }
    return batch.done;
  }

  /** Removes the addresses; one that is not blocked is no error. */
  async unblock(addresses: string[]): Promise<void> {
    const unique = new Map(addresses.map(validAddress).map((a) => [a, a]));
    if (unique.size === 0) return;
    if (this.deferred && !this.created && !(await this.isPresent())) return; // no table: nothing to lift
    // `delete element` fails on an absent element (nft 1.0.6 has no `destroy`): adding each one
    // first, in the same transaction, makes the delete always succeed.
    const script =
      elementStatements(this.table, 'add', unique) + elementStatements(this.table, 'delete', unique);
    return this.enqueue(() => this.write(script));
  }

  /** Every ban in both sets; empty if the table does not exist. */
  list(): Promise<NftListedBan[]> {
    return this.enqueue(async () => {
      const bans: NftListedBan[] = [];
      for (const set of [SETS[4], SETS[6]]) {
        const result = await this.read(['list', 'set', 'inet', this.table, set]);
        if (result !== null) bans.push(...setElements(result.stdout));
      }
      return bans;
    });
  }

  /** Empties both sets (every ban in our table), keeping the table and its rules. */
  async flushSets(): Promise<void> {
    if (this.deferred && !this.created && !(await this.isPresent())) return;
    return this.enqueue(() => this.write(flushSetsScript(this.table)));
  }

  /** Deletes the whole table portsnare owns (rules, sets, bans); no error if it is not there. */
  flush(): Promise<void> {
    return this.enqueue(() => this.write(deleteTableScript(this.table)));
  }

  /** Runs `task` after everything queued before it; later block() calls start a new batch. */
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    this.openBatch = undefined;
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async write(script: string): Promise<void> {
    const result = await this.exec([this.nft, '-f', '-'], script);
    if (result.code !== 0) throw new FirewallError(`${this.nft} -f -`, result.code, result.stderr, script);
  }

  /** `nft -j <args>`; null if the object does not exist. */
  private async read(args: string[]): Promise<NftRunResult | null> {
    const argv = [this.nft, '-j', ...args];
    const result = await this.exec(argv);
    if (isMissing(result)) return null;
    if (result.code !== 0) throw new FirewallError(argv.join(' '), result.code, result.stderr);
    return result;
  }

  private async exec(argv: string[], input?: string): Promise<NftRunResult> {
    try {
      return await this.run(argv, input);
    } catch (err) {
      if (err instanceof FirewallError) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      throw new FirewallError(argv.join(' '), null, reason, input, { cause: err });
    }
  }
}
