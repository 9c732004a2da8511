/**
 * @module respond/nft/script
 * The text of the nft scripts portsnare runs (`nft -f -`): the table, its sets and chain, and the
 * element statements of bans. Every address is validated and canonicalised before any text is built,
 * so nothing a caller passes can add a statement. Not how the scripts are run (respond/nft/runner).
 *
 *   table inet portsnare {
 *     set blocked4 { type ipv4_addr; flags timeout; }
 *     set blocked6 { type ipv6_addr; flags timeout; }
 *     chain prerouting { type filter hook prerouting priority -300; policy accept;
 *       ip saddr @blocked4 drop
 *       ip6 saddr @blocked6 drop }
 *   }
 */
import { ErrorCodes, PortsnareError } from '../../errors.ts';
import { canonicalAddress, familyOf } from '../../net/address.ts';

export interface NftBan {
  /** An IPv4 or IPv6 address; canonicalised (so `::ffff:1.2.3.4` bans 1.2.3.4). */
  address: string;
  /** Seconds until the kernel removes the ban; 0 or undefined: until it is removed. */
  timeoutSeconds?: number;
}

/** nft 1.0.6 accepts at most 99,999,999 s (measured; longer is "value too large"). */
export const NFT_MAX_TIMEOUT_SECONDS = 99_999_999;
export const CHAIN = 'prerouting';
export const SETS = { 4: 'blocked4', 6: 'blocked6' } as const;
/**
 * A one-element set that only the table script creates. Listing it is cheap whatever the size of the
 * ban sets; listing the chain or the tables is not: nft 1.0.6 then loads every set element (30 s
 * with 1,000,000 bans, measured), so the watchdog looks for this set instead.
 */
export const MARKER = 'installed';

/** The canonical address and nft element text of a ban; throws (before anything runs) if either is invalid. */
export function validBan(ban: NftBan): { address: string; element: string } {
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

export function validAddress(text: string): string {
  return validBan({ address: text }).address;
}

/** The one transaction that creates what is missing of the table and resets the chain. */
export function tableScript(table: string): string {
  const t = `inet ${table}`;
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

/** One `add|delete element` statement per set that has elements (canonical address -> element text). */
export function elementStatements(
  table: string,
  verb: 'add' | 'delete',
  elements: Map<string, string>,
): string {
  let script = '';
  for (const family of [4, 6] as const) {
    const items = [...elements].filter(([address]) => familyOf(address) === family).map(([, e]) => e);
    if (items.length > 0) {
      script += `${verb} element inet ${table} ${SETS[family]} { ${items.join(', ')} }\n`;
    }
  }
  return script;
}

/** Empties both sets, keeping the table and its rules. */
export function flushSetsScript(table: string): string {
  const t = `inet ${table}`;
  return `flush set ${t} ${SETS[4]}\nflush set ${t} ${SETS[6]}\n`;
}

/** Deletes the whole table; no error if it is not there. */
export function deleteTableScript(table: string): string {
  const t = `inet ${table}`;
  return `add table ${t}\ndelete table ${t}\n`;
}
