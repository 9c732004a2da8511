/**
 * @module report/alert-messages
 * The lines one alert produces before any response: 1.2's "Connect from host" for classic modes, the
 * scan-type line (and the IP-options line) for packet modes. Shared by the daemon and `replay`.
 */
import { isClassic, type ProbeEvent } from '../detect/probe.ts';
import type { LogMessage } from './messages.ts';

export function alertMessages(event: ProbeEvent, host: string): LogMessage[] {
  const common = { protocol: event.protocol, host, address: event.source, port: event.port };
  if (isClassic(event.mode)) return [{ kind: 'connect', ...common }];
  const lines: LogMessage[] = [{ kind: 'stealthScan', label: event.label ?? '', ...common }];
  if (event.ipOptions) lines.push({ kind: 'ipOptions', ...common });
  return lines;
}
