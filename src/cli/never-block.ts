/**
 * @module cli/never-block
 * The daemon's never-block rule for `block` run without a daemon: the host's own addresses and
 * loopback, its default gateways and resolvers, and the ignore file.
 */
import { loadIgnoreFile } from '../config/ignore-file.ts';
import type { Settings } from '../config/settings.ts';
import { CidrSet } from '../net/cidr-set.ts';
import { hostAddresses, ownAddressSet } from '../net/host-addresses.ts';
import { protectedHosts } from '../net/protected-hosts.ts';

export async function neverBlockReason(settings: Settings, address: string): Promise<string | null> {
  if (protectedHosts().includes(address)) return 'it is a default gateway or a resolver of this host';
  if (ownAddressSet(hostAddresses()).has(address)) return 'it is an address of this host';
  const ignore = await loadIgnoreFile(settings.ignoreFile);
  const set = new CidrSet();
  for (const entry of ignore.entries) set.add(entry.cidr);
  return set.has(address) ? 'it is on the ignore list' : null;
}
