/**
 * @module daemon/block-backend
 * Turns BLOCK_BACKEND into the backends the daemon uses: `nft` and `both` need nftables to work
 * (the start fails otherwise), `classic` never touches it, `auto` uses nftables where `nft` runs and
 * our table can be created, else the classic templates. Also tells whether the host rebooted since
 * the last run (the kernel then forgot routes and rules that KILL_ROUTE added).
 */
import { readFile, writeFile, rename } from 'node:fs/promises';
import { statePaths } from '../state/state-dir.ts';
import type { BlockBackendSetting } from '../config/settings.ts';
import { describeError, ErrorCodes, PortsnareError } from '../errors.ts';
import type { NftBlocker } from '../respond/classic-responder.ts';
import { FirewallError, NftResponder } from '../respond/nft.ts';

export interface ResolvedBackend {
  /** The nftables backend as responses use it (a dry run's recorder stands in for it). */
  nft: NftBlocker | null;
  /** Our real nft table, for the watchdog and `flush`; null without nftables or in a dry run. */
  table: NftResponder | null;
  classic: boolean;
  /** For the log: "nftables", "KILL_HOSTS_DENY/KILL_ROUTE", or both. */
  description: string;
  /** Why auto chose what it chose; empty otherwise. */
  why: string;
}

/**
 * `defer`: nothing blocks by itself (no BLOCK_x is 1), so the table is only checked now and created
 * at the first ban (a manual block, or a stored ban put back), leaving a log-only host's ruleset as
 * it was.
 */
/** No backend at all: the ban store only (read-only direct access). */
export const NO_BACKEND: ResolvedBackend = {
  nft: null,
  table: null,
  classic: true,
  description: '',
  why: '',
};

export async function resolveBlockBackend(
  setting: BlockBackendSetting,
  defer = false,
  makeNft: () => NftResponder = () => new NftResponder(),
): Promise<ResolvedBackend> {
  const classicOnly: ResolvedBackend = {
    nft: null,
    table: null,
    classic: true,
    description: 'KILL_HOSTS_DENY/KILL_ROUTE',
    why: '',
  };
  if (setting === 'classic') return classicOnly;
  const nft = makeNft();
  let failure: string | null = null;
  // Creating the table is the test: it is one fast write. (`nft list tables` would do, but nft 1.0.6
  // loads every set element to list anything: 30 s with a million bans from the last run.)
  try {
    await (defer ? nft.deferTable() : nft.ensureTable());
  } catch (err) {
    failure =
      err instanceof FirewallError && err.exitCode === null
        ? `nft could not be run (${err.stderr.trim()})`
        : describeError(err);
  }
  if (failure !== null) {
    if (setting === 'auto') return { ...classicOnly, why: `nftables unavailable (${failure})` };
    throw new PortsnareError(
      ErrorCodes.BACKEND_UNAVAILABLE,
      `BLOCK_BACKEND=${setting}: nftables unavailable: ${failure}`,
    );
  }
  const both = setting === 'both';
  return {
    nft,
    table: nft,
    classic: both,
    description: both
      ? `nftables (inet ${nft.table}) and KILL_HOSTS_DENY/KILL_ROUTE`
      : `nftables (inet ${nft.table})`,
    why: [
      setting === 'auto' && 'nft works here',
      defer && 'the table is made at the first ban (no BLOCK_x is 1)',
    ]
      .filter(Boolean)
      .join('; '),
  };
}

const BOOT_ID = '/proc/sys/kernel/random/boot_id';

/**
 * True when the kernel's boot id differs from the one saved in `stateDir` by the last run (or
 * none was saved); saves the current one.
 */
export async function bootChanged(stateDir: string): Promise<boolean> {
  let current = '';
  try {
    current = (await readFile(BOOT_ID, 'utf8')).trim();
  } catch {
    return false; // not Linux: assume the kernel still holds what it held
  }
  const path = statePaths(stateDir).bootId;
  let previous: string | null = null;
  try {
    previous = (await readFile(path, 'utf8')).trim();
  } catch {
    previous = null;
  }
  if (previous !== current) {
    await writeFile(`${path}.tmp`, `${current}\n`, { mode: 0o600 });
    await rename(`${path}.tmp`, path);
  }
  return previous !== null && previous !== current;
}
