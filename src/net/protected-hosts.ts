/**
 * @module net/protected-hosts
 * Hosts portsnare must never block besides its own addresses: the default gateways (from the
 * kernel's routing tables, /proc/net/route and /proc/net/ipv6_route) and the configured resolvers
 * (`nameserver` lines of /etc/resolv.conf). A forged probe "from" the gateway must not cut the host
 * off the network. Parsing is pure; reading tolerates missing files.
 */
import { readFileSync } from 'node:fs';
import { canonicalAddress } from './address.ts';

/** IPv4 default routes' gateways from /proc/net/route (little-endian hex). */
export function parseIpv4Gateways(text: string): string[] {
  const found: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [, destination, gateway, , , , , mask] = fields;
    if (destination !== '00000000' || mask !== '00000000' || !gateway || !/^[0-9A-Fa-f]{8}$/.test(gateway))
      continue;
    const n = Number.parseInt(gateway, 16);
    const address = [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
    if (address !== '0.0.0.0') found.push(address);
  }
  return found;
}

/** IPv6 default routes' next hops from /proc/net/ipv6_route (32 hex digits each). */
export function parseIpv6Gateways(text: string): string[] {
  const found: string[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const [destination, prefix, , , nextHop] = fields;
    if (destination !== '0'.repeat(32) || prefix !== '00' || !nextHop || !/^[0-9a-f]{32}$/.test(nextHop))
      continue;
    if (nextHop === '0'.repeat(32)) continue;
    const address = canonicalAddress(nextHop.match(/.{4}/g)?.join(':') ?? '');
    if (address) found.push(address);
  }
  return found;
}

export function parseResolvers(text: string): string[] {
  const found: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*nameserver\s+(\S+)/.exec(line);
    const address = match?.[1] ? canonicalAddress(match[1].split('%')[0] ?? '') : null;
    if (address) found.push(address);
  }
  return found;
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Gateways and resolvers of this host (in the calling process's network namespace). */
export function protectedHosts(
  paths = { route: '/proc/net/route', route6: '/proc/net/ipv6_route', resolvConf: '/etc/resolv.conf' },
): string[] {
  return [
    ...new Set([
      ...parseIpv4Gateways(readOrEmpty(paths.route)),
      ...parseIpv6Gateways(readOrEmpty(paths.route6)),
      ...parseResolvers(readOrEmpty(paths.resolvConf)),
    ]),
  ];
}
