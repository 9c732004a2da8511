/**
 * @module respond/nft/parser
 * Reads what `nft -j list ...` prints: the objects of its output, whether our chain and its two drop
 * rules are there, and the elements of a ban set. Any shape it does not know is UNEXPECTED_OUTPUT.
 */
import { ErrorCodes, PortsnareError } from '../../errors.ts';
import { canonicalAddress } from '../../net/address.ts';
import type { NftRunResult } from './runner.ts';
import { SETS } from './script.ts';

export interface NftListedBan {
  address: string;
  /** Whole seconds left, or null for a ban without timeout. */
  expiresInSeconds: number | null;
}

/** "No such file or directory": the table, chain or set does not exist. */
export function isMissing(result: NftRunResult): boolean {
  return result.code !== 0 && /No such file or directory/.test(result.stderr);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The objects of `nft -j` output (`{"nftables": [{...}, ...]}`). */
export function jsonObjects(stdout: string): Record<string, unknown>[] {
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

/** True if `nft -j list chain` output shows our base chain with both drop rules. */
export function isOurChain(stdout: string): boolean {
  const objects = jsonObjects(stdout);
  const chain = objects.map((o) => o.chain).find(isRecord);
  const rules = objects.map((o) => o.rule).filter(isRecord);
  return (
    chain?.hook === 'prerouting' &&
    chain.type === 'filter' &&
    chain.prio === -300 &&
    rules.some((r) => isDropRule(r.expr, 'ip', SETS[4])) &&
    rules.some((r) => isDropRule(r.expr, 'ip6', SETS[6]))
  );
}

/** The elements of `nft -j list set` output. */
export function setElements(stdout: string): NftListedBan[] {
  const bans: NftListedBan[] = [];
  for (const o of jsonObjects(stdout)) {
    const elems = isRecord(o.set) ? o.set.elem : undefined;
    if (Array.isArray(elems)) for (const e of elems as unknown[]) bans.push(listedBan(e));
  }
  return bans;
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
