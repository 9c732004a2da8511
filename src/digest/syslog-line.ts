/**
 * @module digest/syslog-line
 * The head of a syslog line split into its fields, for the digest: the time (RFC 3164's
 * `Nov 22 10:05:10`, which has no year, or rsyslog's RFC 3339 high-precision stamp), the host, the
 * program with its pid, and the message. A line without a recognisable head is not an error: the
 * digest still counts it, under its whole text.
 */

export interface SyslogLine {
  /** Milliseconds since the epoch; for RFC 3164 stamps the year is chosen by `yearFor`. */
  readonly time: number;
  readonly host: string;
  /** The tag without the pid: `sshd`, `postfix/smtpd`, `kernel`. */
  readonly program: string;
  readonly pid: number | null;
  /** Everything after the tag's `: `. */
  readonly message: string;
}

const MONTHS: Readonly<Record<string, number>> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

// `Nov 22 10:05:10 host prog[123]: message` (day space-padded).
const RFC3164 = /^([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\S+) ([^:[\s]+)(?:\[(\d+)\])?: ?(.*)$/s;
// `2025-11-22T10:00:01.000000+00:00 host prog[123]: message`.
const RFC3339 =
  /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (\S+) ([^:[\s]+)(?:\[(\d+)\])?: ?(.*)$/s;

/**
 * The year of an RFC 3164 stamp: the year of `now`, or the previous one when that would put the
 * line more than a day in the future (a December line read in January).
 */
export function yearFor(month: number, day: number, now: Date): number {
  const year = now.getFullYear();
  const candidate = new Date(year, month, day).getTime();
  return candidate - now.getTime() > 86_400_000 ? year - 1 : year;
}

/**
 * The local start of an hour of a month and day, per `now`: an hour's lines all share it, so one
 * Date is built per hour, not per line (on a 1,000,000-line day that was the largest single cost
 * of the parse). Hours, not days, so a daylight-saving change is placed right.
 */
const hourStarts = new WeakMap<Date, Map<number, number>>();

function hourStart(month: number, day: number, hour: number, now: Date): number {
  let cache = hourStarts.get(now);
  if (cache === undefined) {
    cache = new Map();
    hourStarts.set(now, cache);
  }
  const key = (month * 32 + day) * 24 + hour;
  let ms = cache.get(key);
  if (ms === undefined) {
    ms = new Date(yearFor(month, day, now), month, day, hour).getTime();
    cache.set(key, ms);
  }
  return ms;
}

export function parseSyslogLine(line: string, now: Date = new Date()): SyslogLine | null {
  let m = RFC3164.exec(line);
  if (m) {
    const month = MONTHS[m[1]!];
    if (month === undefined) return null;
    const day = Number(m[2]!.trim());
    const time = hourStart(month, day, Number(m[3]), now) + (Number(m[4]) * 60 + Number(m[5])) * 1000;
    return {
      time,
      host: m[6]!,
      program: m[7]!,
      pid: m[8] === undefined ? null : Number(m[8]),
      message: m[9]!,
    };
  }
  m = RFC3339.exec(line);
  if (m) {
    const time = Date.parse(m[1]!);
    if (Number.isNaN(time)) return null;
    return {
      time,
      host: m[2]!,
      program: m[3]!,
      pid: m[4] === undefined ? null : Number(m[4]),
      message: m[5]!,
    };
  }
  return null;
}
