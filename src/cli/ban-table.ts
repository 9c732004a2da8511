/**
 * @module cli/ban-table
 * Bans as a text table for people (`status`, `list`): address, since, expires, ports, scan type,
 * mode and backends; times in the local zone, expiry also as time left.
 */
import type { BanView } from '../control/protocol.ts';

function localTime(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function left(iso: string, now: number): string {
  let s = Math.max(0, Math.round((Date.parse(iso) - now) / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return d > 0 ? `${d}d${h}h` : h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m${s}s` : `${s}s`;
}

export function formatBanTable(bans: readonly BanView[], now = Date.now()): string {
  if (bans.length === 0) return 'No bans.\n';
  const rows = [
    ['ADDRESS', 'SINCE', 'EXPIRES', 'PORTS', 'SCAN TYPE', 'MODE', 'BACKENDS'],
    ...bans.map((b) => [
      b.address,
      localTime(b.since),
      b.expires === null ? 'never' : `${localTime(b.expires)} (in ${left(b.expires, now)})`,
      b.ports.join(',') || '-',
      b.scanType,
      b.mode,
      b.backends.join(',') || '-',
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return (
    rows
      .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '))
      .join('\n') + `\n${bans.length} ban(s).\n`
  );
}
