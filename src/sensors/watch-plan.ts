/**
 * @module sensors/watch-plan
 * What the packet modes watch, decided at start from the settings and the ports already in use, with
 * PortSentry 1.2's startup lines: stealth modes drop listed ports a service holds ("Socket N is in
 * use"); advanced modes watch every port below ADVANCED_PORTS_x except the excluded ones and report
 * the in-use ports first, then the manual exclusions. Pure: the socket table comes in as a function.
 */
import type { Settings } from '../config/settings.ts';
import type { ProtocolWatch, WatchPlan } from '../detect/packet-probe.ts';
import { isAdvanced, protocolOf, type Mode, type Protocol } from '../detect/probe.ts';
import type { LogMessage } from '../report/messages.ts';

export interface WatchPlanResult {
  plan: WatchPlan;
  messages: LogMessage[];
  /** Set when a mode has nothing left to watch (1.2 shuts down). */
  error: string | null;
}

export function buildWatchPlan(
  settings: Settings,
  modes: readonly Mode[],
  servedPorts: (protocol: Protocol, limit: number) => readonly number[],
): WatchPlanResult {
  const plan: WatchPlan = { tcp: null, udp: null };
  const messages: LogMessage[] = [];
  let error: string | null = null;
  for (const mode of modes.filter((m) => m !== 'tcp' && m !== 'udp')) {
    const protocol = protocolOf(mode);
    let watch: ProtocolWatch;
    if (isAdvanced(mode)) {
      const below = protocol === 'tcp' ? settings.advancedPortsTcp : settings.advancedPortsUdp;
      const excluded = protocol === 'tcp' ? settings.advancedExcludeTcp : settings.advancedExcludeUdp;
      const inUse = servedPorts(protocol, below).filter((p) => !excluded.includes(p));
      messages.push({ kind: 'advancedMonitor', ports: below });
      if (excluded.length === 0) messages.push({ kind: 'advancedExcludeNone' });
      for (const port of excluded) messages.push({ kind: 'advancedExclude', port });
      for (const port of [...inUse, ...excluded]) messages.push({ kind: 'advancedIgnored', protocol, port });
      watch = { mode, ports: null, below, exclude: new Set(excluded) };
    } else {
      const listed = protocol === 'tcp' ? settings.tcpPorts : settings.udpPorts;
      if (listed.length === 0) {
        messages.push({ kind: 'noPorts', protocol });
        error = `no ${protocol.toUpperCase()} ports`;
        continue;
      }
      const served = new Set(servedPorts(protocol, 65536));
      const ports = new Set<number>();
      for (const port of listed) {
        if (served.has(port)) {
          messages.push({ kind: 'socketInUse', port });
        } else {
          messages.push({ kind: 'stealthListen', protocol, port });
          ports.add(port);
        }
      }
      if (ports.size === 0) {
        messages.push({ kind: 'allSocketsInUse', protocol });
        error = `all ${protocol.toUpperCase()} ports are in use`;
      }
      watch = { mode, ports, below: 0, exclude: new Set() };
    }
    plan[protocol] = watch;
  }
  return { plan, messages, error };
}
