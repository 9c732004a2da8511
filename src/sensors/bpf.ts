/**
 * @module sensors/bpf
 * The capture filter for a watch plan: only packets to this host's addresses and to watched ports
 * reach user space. IPv6 packets whose first header is an extension header are let through too,
 * because libpcap's `tcp`/`udp` primitives only look at the fixed header's next-header field; the
 * decoder walks the chain. Flag checks (ACK/RST) stay in the decoder: BPF's `tcp[13]` is IPv4-only.
 */
import type { ProtocolWatch, WatchPlan } from '../detect/packet-probe.ts';

/** `1,2,3,5` → `dst portrange 1-3 or dst port 5`. */
export function portClause(ports: Iterable<number>): string {
  const sorted = [...new Set(ports)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++;
    const low = sorted[i] as number;
    const high = sorted[j] as number;
    parts.push(low === high ? `dst port ${low}` : `dst portrange ${low}-${high}`);
    i = j + 1;
  }
  return parts.join(' or ');
}

function watchClause(protocol: 'tcp' | 'udp', watch: ProtocolWatch): string | null {
  if (watch.ports) {
    if (watch.ports.size === 0) return null;
    return `(${protocol} and (${portClause(watch.ports)}))`;
  }
  if (watch.below <= 0) return null;
  // Exclusions are left to user space: they are few and change nothing in the kernel's cost.
  return `(${protocol} and dst portrange 0-${watch.below - 1})`;
}

export function buildFilter(plan: WatchPlan, localAddresses: readonly string[]): string {
  const clauses = [plan.tcp && watchClause('tcp', plan.tcp), plan.udp && watchClause('udp', plan.udp)].filter(
    (c): c is string => Boolean(c),
  );
  clauses.push('(ip6 and not ip6 proto 6 and not ip6 proto 17 and not ip6 proto 58)');
  const ports = clauses.join(' or ');
  if (localAddresses.length === 0) return ports;
  const hosts = localAddresses.map((a) => `dst host ${a}`).join(' or ');
  return `(${hosts}) and (${ports})`;
}
