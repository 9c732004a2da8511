// A generated day of syslog for the digest's figures (issue 12: 1,000,000 lines, 5,000 blocked
// hosts): portsnare's own lines made with its formatters (report/messages), so they are the texts
// the daemon writes, plus sshd failures, kernel firewall drops and routine system lines. Seeded:
// the same arguments give the same file.
import { closeSync, openSync, writeSync } from 'node:fs';
import { formatMessage, type LogMessage } from '../../src/report/messages.ts';

export interface DayOptions {
  readonly lines: number;
  readonly blockedHosts: number;
  readonly seed?: number;
  /** The day (local midnight is the start). */
  readonly day?: Date;
  readonly host?: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function stamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Scanner addresses: 198.18.0.0/15 (benchmark range), one per index. */
export function scannerAddress(i: number): string {
  return `198.18.${(i >> 8) & 0xff}.${i & 0xff}`;
}

const ROUTINE = [
  (r: () => number) =>
    `CRON[${1000 + Math.floor(r() * 9000)}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)`,
  (r: () => number) =>
    `CRON[${1000 + Math.floor(r() * 9000)}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)`,
  (r: () => number) =>
    `postfix/smtpd[${4000 + Math.floor(r() * 900)}]: connect from unknown[203.0.113.${Math.floor(r() * 250)}]`,
  (r: () => number) =>
    `systemd[1]: Started session-${Math.floor(r() * 100000)}.scope - Session ${Math.floor(r() * 100000)} of User alice.`,
  (r: () => number) =>
    `sshd[${3000 + Math.floor(r() * 5000)}]: Accepted publickey for alice from 192.0.2.${Math.floor(r() * 250)} port ${1024 + Math.floor(r() * 60000)} ssh2: ED25519 SHA256:3jc0n4Xb`,
  (r: () => number) =>
    `myapp[5100]: worker ${Math.floor(r() * 64)} finished job ${Math.floor(r() * 1e6)} in ${Math.floor(r() * 900)} ms`,
];

/** Writes the day to `path`; returns the number of lines written. */
export function writeDay(path: string, options: DayOptions): number {
  let seed = options.seed ?? 1;
  const random = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const day = options.day ?? new Date(2025, 10, 22);
  const start = new Date(day.getFullYear(), day.getMonth(), day.getDate()).getTime();
  const host = options.host ?? 'host';
  const fd = openSync(path, 'w', 0o644);
  let pending: string[] = [];
  let written = 0;
  const flush = () => {
    writeSync(fd, pending.join(''));
    pending = [];
  };
  // Lines are laid out in time order over the day: each is one step of ~86 ms.
  const step = 86_400_000 / options.lines;
  const emit = (text: string) => {
    pending.push(`${stamp(start + written * step)} ${host} ${text}\n`);
    written++;
    if (pending.length >= 10_000) flush();
  };
  const ps = (m: LogMessage) => `portsnare[900]: ${formatMessage(m)}`;
  // Per blocked host: a few probes, the block (nftables set), then "already blocked" repeats.
  const perHost = Math.floor((options.lines * 0.6) / Math.max(1, options.blockedHosts));
  const hosts = Array.from({ length: options.blockedHosts }, (_, i) => ({
    address: scannerAddress(i),
    left: perHost,
    blocked: false,
    probes: 0,
  }));
  let active = 0;
  while (written < options.lines) {
    const roll = random();
    if (roll < 0.6 && hosts.length > 0) {
      // A scanner line: hosts start one after another so that blocks spread over the day.
      if (active < hosts.length && random() < (hosts.length / (options.lines * 0.6)) * 4) active++;
      const h = hosts[Math.floor(random() * Math.max(1, active))]!;
      if (h.left <= 0) {
        emit(ROUTINE[Math.floor(random() * ROUTINE.length)]!(random));
        continue;
      }
      h.left--;
      const port = 1 + Math.floor(random() * 1024);
      if (!h.blocked && h.probes < 3) {
        h.probes++;
        emit(
          ps({
            kind: 'stealthScan',
            protocol: 'tcp',
            label: 'TCP SYN/Normal scan',
            host: h.address,
            address: h.address,
            port,
          }),
        );
      } else if (!h.blocked) {
        h.blocked = true;
        emit(ps({ kind: 'blockedNft', address: h.address, set: 'portsnare4', seconds: 86400 }));
      } else {
        emit(ps({ kind: 'alreadyBlocked', mode: 'stcp', host: h.address, address: h.address }));
      }
    } else if (roll < 0.7) {
      const a = `203.0.113.${Math.floor(random() * 250)}`;
      emit(
        `sshd[${3000 + Math.floor(random() * 5000)}]: Failed password for invalid user admin from ${a} port ${1024 + Math.floor(random() * 60000)} ssh2`,
      );
    } else if (roll < 0.8) {
      const a = `198.51.100.${Math.floor(random() * 250)}`;
      emit(
        `kernel: [${(written / 10).toFixed(6)}] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=${a} DST=192.0.2.1 LEN=44 TOS=0x00 PREC=0x00 TTL=241 ID=54321 PROTO=TCP SPT=${1024 + Math.floor(random() * 60000)} DPT=${1 + Math.floor(random() * 65535)} WINDOW=1024 RES=0x00 SYN URGP=0`,
      );
    } else {
      emit(ROUTINE[Math.floor(random() * ROUTINE.length)]!(random));
    }
  }
  flush();
  closeSync(fd);
  return written;
}
