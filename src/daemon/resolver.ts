/**
 * @module daemon/resolver
 * RESOLVE_HOST: the name shown in `H/IP`. Looked up through the system resolver (getnameinfo, so
 * /etc/hosts counts, as with 1.2's gethostbyaddr), bounded by a timeout, cached, and reduced to
 * hostname characters so a hostile PTR record cannot inject text into logs or files.
 */
import { ErrorCodes, PortsnareError } from '../errors.ts';
import { lookupService } from 'node:dns/promises';

export const RESOLVE_TIMEOUT_MS = 1500;
const CACHE_SIZE = 4096;

export function sanitiseHostname(name: string): string | null {
  const trimmed = name.replace(/\.$/, '');
  return /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*$/.test(trimmed) &&
    trimmed.length <= 253
    ? trimmed
    : null;
}

export class Resolver {
  readonly #cache = new Map<string, string>();
  readonly #lookup: (address: string) => Promise<string>;

  constructor(
    lookup: (address: string) => Promise<string> = async (a) => (await lookupService(a, 0)).hostname,
  ) {
    this.#lookup = lookup;
  }

  /** The sanitised name of `address`, or the address itself when there is none (as 1.2 logs `IP/IP`). */
  async nameOf(address: string): Promise<string> {
    const cached = this.#cache.get(address);
    if (cached !== undefined) return cached;
    let name = address;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new PortsnareError(ErrorCodes.RESOLVE_TIMEOUT, 'timeout')),
          RESOLVE_TIMEOUT_MS,
        );
      });
      const found = await Promise.race([this.#lookup(address), timeout]);
      name = sanitiseHostname(found) ?? address;
    } catch {
      name = address;
    } finally {
      clearTimeout(timer);
    }
    if (this.#cache.size >= CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value ?? '');
    this.#cache.set(address, name);
    return name;
  }
}
