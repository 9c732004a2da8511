/**
 * @module digest/since
 * `--since`: an absolute time (`2025-11-22`, `2025-11-22 10:00`, `2025-11-22T10:00:00Z`, any
 * ISO 8601 form Date.parse reads; a date without a zone is local time), a time ago (`90m`, `6h`,
 * `2d`, `1w`), or `today` / `yesterday` (local midnight).
 */

const UNITS: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

export function parseSince(text: string, now: Date): { time: number } | { error: string } {
  const t = text.trim();
  const ago = /^(\d+)\s*([smhdw])$/.exec(t);
  if (ago) return { time: now.getTime() - Number(ago[1]) * UNITS[ago[2]!]! };
  if (t === 'today' || t === 'yesterday') {
    const d = new Date(now.getFullYear(), now.getMonth(), now.getDate());
    if (t === 'yesterday') d.setDate(d.getDate() - 1);
    return { time: d.getTime() };
  }
  const local = /^(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d))?)?$/.exec(t);
  if (local) {
    const [, y, mo, d, h, mi, s] = local;
    const date = new Date(
      Number(y),
      Number(mo) - 1,
      Number(d),
      Number(h ?? 0),
      Number(mi ?? 0),
      Number(s ?? 0),
    );
    if (!Number.isNaN(date.getTime()) && date.getMonth() === Number(mo) - 1) return { time: date.getTime() };
  } else if (/^\d{4}-\d\d-\d\dT/.test(t)) {
    const ms = Date.parse(t);
    if (!Number.isNaN(ms)) return { time: ms };
  }
  return {
    error: `"${text}" is not a time (2025-11-22, 2025-11-22 10:00, an ISO 8601 time, 6h, 2d, today, yesterday)`,
  };
}
