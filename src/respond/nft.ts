/**
 * @module respond/nft
 * Native nftables bans. portsnare owns exactly one table, `inet portsnare` (or the `table` option),
 * and never reads or writes any other:
 *
 *   table inet portsnare {
 *     set blocked4 { type ipv4_addr; flags timeout; }
 *     set blocked6 { type ipv6_addr; flags timeout; }
 *     chain prerouting { type filter hook prerouting priority -300; policy accept;
 *       ip saddr @blocked4 drop
 *       ip6 saddr @blocked6 drop }
 *   }
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
 *
 * How nft is run: an argument vector without a shell, writes as one text batch on stdin
 * (`nft -f -`, one transaction), reads as JSON (`nft -j list ...`; `nft -j -f -` cannot read a
 * Node pipe). Every address is validated and canonicalised before any text is built, so nothing a
 * caller passes can add a statement. Writes and reads go through one queue, in call order. block()
 * calls made before their batch starts (the same tick, or within `batchDelayMs`) and not separated by
 * another operation share one run with one `add element` statement per set (ecosystem.md: 10,000
 * elements in ~30-50 ms that way, ~1.1 s as separate statements). A failed run rejects with a
 * FirewallError carrying the command and nft's stderr.
 */
import { spawn } from 'node:child_process';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, PortsnareError } from '../errors.ts';
import { canonicalAddress, familyOf } from '../net/address.ts';

export interface NftBan {
  /** An IPv4 or IPv6 address; canonicalised (so `::ffff:1.2.3.4` bans 1.2.3.4). */
  address: string;
  /** Seconds until the kernel removes the ban; 0 or undefined: until it is removed. */
  timeoutSeconds?: number;
}

export interface NftRunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `argv` (program first) with `input` on stdin. Resolves with any exit code; rejects only if it could not run. */
export type NftRun = (argv: string[], input?: string) => Promise<NftRunResult>;

export interface NftResponderOptions {
  /** Path of the nft binary. Default `nft` (looked up in PATH). */
  nft?: string;
  /** Name of the table portsnare owns (family inet). Default `portsnare`. */
  table?: string;
  /** How nft is run. Default: spawn without a shell, killed after NFT_TIMEOUT_MS. */
  run?: NftRun;
  /** How long block() waits for more calls before running nft. Default 0: calls of the same tick. */
  batchDelayMs?: number;
}

export interface NftListedBan {
  address: string;
  /** Whole seconds left, or null for a ban without timeout. */
  expiresInSeconds: number | null;
}

export const NFT_TIMEOUT_MS = 10_000;
export const NFT_MAX_TIMEOUT_SECONDS = 99_999_999;
const CHAIN = 'prerouting';
const SETS = { 4: 'blocked4', 6: 'blocked6' } as const;
/**
 * A one-element set that only ensureTable() creates. Listing it is cheap whatever the size of the
 * ban sets; listing the chain or the tables is not: nft 1.0.6 then loads every set element (30 s
 * with 1,000,000 bans, measured), so the watchdog looks for this set instead.
 */
const MARKER = 'installed';

/** nft could not be run, timed out, or exited non-zero. */
export class FirewallError extends PortsnareError {
  readonly backend = 'nftables';
  /** The argument vector, joined with spaces (`nft -f -`). */
  readonly command: string;
  /** nft's exit status; null if it could not be run or was killed. */
  readonly exitCode: number | null;
  /** nft's stderr verbatim (`Error: <reason>\n<statement>\n<carets>`), or why it could not run. */
  readonly stderr: string;
  /** The batch that was on stdin, if any. */
  readonly input: string | undefined;

  constructor(
    command: string,
    exitCode: number | null,
    stderr: string,
    input?: string,
    options?: { cause?: unknown },
  ) {
    const status = exitCode === null ? 'could not run' : `exit ${exitCode}`;
    super(ErrorCodes.COMMAND_FAILED, `${command}: ${status}: ${stderr.trim() || 'no error text'}`, options);
    this.name = 'FirewallError';
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
    this.input = input;
  }
}

/** The default NftRun: spawn without a shell, stdin fed and closed, SIGKILL after `timeoutMs`. */
export function spawnRun(argv: string[], input?: string, timeoutMs = NFT_TIMEOUT_MS): Promise<NftRunResult> {
  const [file, ...args] = argv;
  const command = argv.join(' ');
  if (!file) return Promise.reject(new FirewallError(command, null, 'empty command', input));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      shell: false,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const fail = (reason: string, cause?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new FirewallError(command, null, reason, input, { cause }));
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(`timed out after ${timeoutMs} ms`);
    }, timeoutMs);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin?.on('error', () => {}); // EPIPE when nft exits without reading; its stderr says why
    child.stdin?.end(input);
    child.once('error', (err) => fail(err.message, err));
    child.once('close', (code, signal) => {
      if (code === null) return fail(`killed by ${signal ?? 'a signal'}`);
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The canonical address and nft element text of a ban; throws (before anything runs) if either is invalid. */
function validBan(ban: NftBan): { address: string; element: string } {
  const address = canonicalAddress(String(ban.address));
  if (address === null) {
    throw new PortsnareError(
      ErrorCodes.INVALID_ADDRESS,
      `not an IPv4 or IPv6 address: ${JSON.stringify(ban.address)}`,
    );
  }
  const t = ban.timeoutSeconds ?? 0;
  if (!Number.isSafeInteger(t) || t < 0 || t > NFT_MAX_TIMEOUT_SECONDS) {
    throw new RangeError(
      `ban timeout for ${address} must be whole seconds from 0 to ${NFT_MAX_TIMEOUT_SECONDS}, got ${String(t)}`,
    );
  }
  return { address, element: t === 0 ? address : `${address} timeout ${t}s` };
}

function validAddress(text: string): string {
  return validBan({ address: text }).address;
}

/** "No such file or directory": the table, chain or set does not exist. */
function isMissing(result: NftRunResult): boolean {
  return result.code !== 0 && /No such file or directory/.test(result.stderr);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The objects of `nft -j` output (`{"nftables": [{...}, ...]}`). */
function jsonObjects(stdout: string): Record<string, unknown>[] {
  const parsed: unknown = JSON.parse(stdout);
  const list = isRecord(parsed) ? parsed.nftables : undefined;
  if (!Array.isArray(list))
    throw new PortsnareError(ErrorCodes.UNEXPECTED_OUTPUT, 'nft -j output without an "nftables" array');
  return list.filter(isRecord);
}

/** True if `expr` is `<protocol> saddr @<set> drop`. */
function isDropRule(expr: unknown, protocol: string, set: string): boolean {
  if (!Array.isArray(expr) || expr.length !== 2) return false;
  const [match, verdict] = expr as unknown[];
  const m = isRecord(match) && isRecord(match.match) ? match.match : undefined;
  const left = m && isRecord(m.left) && isRecord(m.left.payload) ? m.left.payload : undefined;
  return (
    m?.op === '==' &&
    m.right === `@${set}` &&
    left?.protocol === protocol &&
    left.field === 'saddr' &&
    isRecord(verdict) &&
    'drop' in verdict
  );
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
    this.run = opts.run ?? ((argv, input) => spawnRun(argv, input));
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

  /** The one transaction that creates what is missing of the table and resets the chain. */
  private tableScript(): string {
    const t = `inet ${this.table}`;
    return (
      [
        `add table ${t}`,
        `add set ${t} ${SETS[4]} { type ipv4_addr; flags timeout; }`,
        `add set ${t} ${SETS[6]} { type ipv6_addr; flags timeout; }`,
        `add set ${t} ${MARKER} { type inet_service; }`,
        `add element ${t} ${MARKER} { 1 }`,
        `add chain ${t} ${CHAIN} { type filter hook prerouting priority -300; policy accept; }`,
        `flush chain ${t} ${CHAIN}`,
        `add rule ${t} ${CHAIN} ip saddr @${SETS[4]} drop`,
        `add rule ${t} ${CHAIN} ip6 saddr @${SETS[6]} drop`,
      ].join('\n') + '\n'
    );
  }

  /** Creates what is missing of the table, sets and chain, and resets the chain to its two rules. */
  ensureTable(): Promise<void> {
    return this.enqueue(async () => {
      await this.write(this.tableScript());
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
      const result = await this.exec([this.nft, '-c', '-f', '-'], this.tableScript());
      if (result.code !== 0) {
        throw new FirewallError(`${this.nft} -c -f -`, result.code, result.stderr, this.tableScript());
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
      if (result === null) return false;
      const objects = jsonObjects(result.stdout);
      const chain = objects.map((o) => o.chain).find(isRecord);
      const rules = objects.map((o) => o.rule).filter(isRecord);
      return (
        chain?.hook === 'prerouting' &&
        chain.type === 'filter' &&
        chain.prio === -300 &&
        rules.some((r) => isDropRule(r.expr, 'ip', SETS[4])) &&
        rules.some((r) => isDropRule(r.expr, 'ip6', SETS[6]))
      );
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
        await this.write(this.elementStatements('add', elements));
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
    const script = this.elementStatements('add', unique) + this.elementStatements('delete', unique);
    return this.enqueue(() => this.write(script));
  }

  /** Every ban in both sets; empty if the table does not exist. */
  list(): Promise<NftListedBan[]> {
    return this.enqueue(async () => {
      const bans: NftListedBan[] = [];
      for (const set of [SETS[4], SETS[6]]) {
        const result = await this.read(['list', 'set', 'inet', this.table, set]);
        if (result === null) continue;
        for (const o of jsonObjects(result.stdout)) {
          const elems = isRecord(o.set) ? o.set.elem : undefined;
          if (Array.isArray(elems)) for (const e of elems as unknown[]) bans.push(listedBan(e));
        }
      }
      return bans;
    });
  }

  /** Empties both sets (every ban in our table), keeping the table and its rules. */
  async flushSets(): Promise<void> {
    if (this.deferred && !this.created && !(await this.isPresent())) return;
    const t = `inet ${this.table}`;
    return this.enqueue(() => this.write(`flush set ${t} ${SETS[4]}\nflush set ${t} ${SETS[6]}\n`));
  }

  /** Deletes the whole table portsnare owns (rules, sets, bans); no error if it is not there. */
  flush(): Promise<void> {
    const t = `inet ${this.table}`;
    return this.enqueue(() => this.write(`add table ${t}\ndelete table ${t}\n`));
  }

  /** Runs `task` after everything queued before it; later block() calls start a new batch. */
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    this.openBatch = undefined;
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** One `add|delete element` statement per set that has elements. */
  private elementStatements(verb: 'add' | 'delete', elements: Map<string, string>): string {
    let script = '';
    for (const family of [4, 6] as const) {
      const items = [...elements].filter(([address]) => familyOf(address) === family).map(([, e]) => e);
      if (items.length > 0) {
        script += `${verb} element inet ${this.table} ${SETS[family]} { ${items.join(', ')} }\n`;
      }
    }
    return script;
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

/** One element of `nft -j list set`: `"1.2.3.4"` or `{"elem": {"val": "1.2.3.4", "timeout": 60, "expires": 59}}`. */
function listedBan(element: unknown): NftListedBan {
  const elem = isRecord(element) && isRecord(element.elem) ? element.elem : undefined;
  const value = elem ? elem.val : element;
  const address = typeof value === 'string' ? canonicalAddress(value) : null;
  if (address === null)
    throw new PortsnareError(
      ErrorCodes.UNEXPECTED_OUTPUT,
      `unexpected set element in nft output: ${JSON.stringify(element)}`,
    );
  const expires = elem?.expires ?? elem?.timeout;
  return { address, expiresInSeconds: typeof expires === 'number' ? expires : null };
}

export interface WatchTableOptions {
  /** How often to check. */
  intervalMs: number;
  /** Checks are skipped while this says false (a deferred table not made yet). Default: always. */
  active?: () => boolean;
  /** The bans to put back when the table has vanished, timeouts as what is left of them. */
  currentBans: () => NftBan[];
  /** Called after a restore with the number of bans put back. */
  onRestored: (count: number) => void;
  /** A check or restore failed (it is tried again at the next interval). Default: ignored. */
  onError?: (err: unknown) => void;
}

/**
 * Puts the table back when someone removed it (`nft flush ruleset`, a firewall reload): every
 * `intervalMs` it checks isPresent(), and if not, runs ensureTable() and re-adds currentBans().
 * Checks never overlap; the timer does not keep the process alive.
 */
export function watchTable(
  responder: Pick<NftResponder, 'isPresent' | 'ensureTable' | 'block'>,
  opts: WatchTableOptions,
): { stop(): void } {
  if (!Number.isFinite(opts.intervalMs) || opts.intervalMs <= 0) {
    throw new RangeError(`intervalMs must be > 0, got ${opts.intervalMs}`);
  }
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const check = async () => {
    if (opts.active && !opts.active()) return;
    if (await responder.isPresent()) return;
    await responder.ensureTable();
    const bans = opts.currentBans();
    await responder.block(bans);
    opts.onRestored(bans.length);
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void check()
        .catch((err: unknown) => {
          try {
            opts.onError?.(err);
          } catch {
            // a throwing error handler must not become an unhandled rejection
          }
        })
        .finally(schedule);
    }, opts.intervalMs);
    timer.unref();
  };
  schedule();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
