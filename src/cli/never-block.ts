/**
 * @module cli/never-block
 * The daemon's never-block rule for `block` run without a daemon: addresses that are not a real
 * peer (broadcast, multicast, unspecified, reserved, link-local, the own subnets' network and
 * broadcast addresses), the host's own addresses and loopback, its default gateways and resolvers,
 * and the ignore file.
 */
import { loadIgnoreFile } from '../config/ignore-file.ts';
import type { Settings } from '../config/settings.ts';
import { hostAddresses, ownAddressSet } from '../net/host-addresses.ts';
import { protectedHosts } from '../net/protected-hosts.ts';
import { interfacePrefixes, nonUnicastReason } from '../net/unicast.ts';

/** Why `address` is not a host anyone may ban (see net/unicast), or null. */
export function notAPeerReason(address: string): string | null {
  return nonUnicastReason(address, { interfaces: interfacePrefixes() });
}

export async function neverBlockReason(settings: Settings, address: string): Promise<string | null> {
  const notAPeer = notAPeerReason(address);
  if (notAPeer) return notAPeer;
  if (protectedHosts().includes(address)) return 'it is a default gateway or a resolver of this host';
  if (ownAddressSet(hostAddresses()).has(address)) return 'it is an address of this host';
  const ignore = await loadIgnoreFile(settings.ignoreFile);
  return ignore.set.has(address) ? 'it is on the ignore list' : null;
}
