/**
 * @module config/unkill-route
 * UNKILL_ROUTE: the command that undoes KILL_ROUTE when a ban ends. An administrator can write it;
 * when they do not, it is derived from KILL_ROUTE for the commands whose undo is well known
 * (`route add` → `route del`, `ip route add` → `ip route del`, `iptables -I|-A` → `iptables -D`,
 * `ipset add` → `ipset del`, `nft add element` → `nft delete element`). Anything else gets no
 * derived command, and the daemon says that such routes stay until removed by hand.
 */
import { basename } from 'node:path';
import type { CommandTemplate } from './command-template.ts';

const IPTABLES = /^(ip6?tables)(-legacy|-nft)?$/;

function undoStep(argv: readonly string[]): string[] | null {
  const program = basename(argv[0] ?? '');
  const out = [...argv];
  const swap = (from: readonly string[], to: string, start = 1): boolean => {
    const i = out.findIndex((arg, index) => index >= start && from.includes(arg));
    if (i < 0) return false;
    out[i] = to;
    return true;
  };
  if (program === 'route') return swap(['add'], 'del') ? out : null;
  if (program === 'ip') {
    const routeAt = out.findIndex((arg, i) => i > 0 && (arg === 'route' || arg === 'r' || arg === 'ro'));
    return routeAt > 0 && swap(['add', 'replace'], 'del', routeAt + 1) ? out : null;
  }
  if (IPTABLES.test(program)) {
    const i = out.findIndex((arg) => ['-I', '-A', '--insert', '--append'].includes(arg));
    if (i < 0) return null;
    out[i] = '-D';
    // `-I CHAIN 1`: the rule number belongs to the insert, not to the rule.
    if (/^\d+$/.test(out[i + 2] ?? '')) out.splice(i + 2, 1);
    return out;
  }
  if (program === 'ipset') return swap(['add', 'a'], 'del') ? out : null;
  if (program === 'nft') {
    const i = out.findIndex((arg, index) => index > 0 && arg === 'add' && out[index + 1] === 'element');
    if (i < 0) return null;
    out[i] = 'delete';
    return out;
  }
  return null;
}

function quote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./$-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** The undo of a KILL_ROUTE template, or null when it is not one of the known commands. */
export function deriveUnkillRoute(killRoute: CommandTemplate): CommandTemplate | null {
  const steps: string[][] = [];
  for (const step of killRoute.steps) {
    const undone = undoStep(step);
    if (!undone) return null;
    steps.push(undone);
  }
  // Undo in reverse order: what was set up last is taken down first.
  steps.reverse();
  return { text: steps.map((argv) => argv.map(quote).join(' ')).join(' && '), steps };
}
