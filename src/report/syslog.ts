/**
 * @module report/syslog
 * Syslog the way glibc's syslog(3) writes it, so that rsyslog, logcheck and fail2ban see exactly what
 * PortSentry 1.2 sent: `<PRI>Mmm dd hh:mm:ss ident[pid]: message` (day space-padded, local time, no
 * hostname) as one datagram to a unix socket (/dev/log unless configured). Unlike glibc, a full
 * socket never stalls the daemon: datagrams wait in a bounded queue and overflow is counted.
 */
import { createRequire } from 'node:module';

export const FACILITY_DAEMON = 3;
export const SEVERITY_NOTICE = 5;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number) => String(n).padStart(2, '0');

/** `Nov  3 01:02:03`: the RFC 3164 timestamp glibc writes, in local time. */
export function syslogTimestamp(date: Date): string {
  const day = String(date.getDate()).padStart(2, ' ');
  return `${MONTHS[date.getMonth()]} ${day} ${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`;
}

/**
 * Control characters as rsyslog's default escaping writes them (`#` and three octal digits: ESC is
 * `#033`, NUL `#000`), done here so that what reaches the socket (and the stderr mirror) is already
 * safe: a NUL or an escape sequence from a config value, an ignore file or a reverse name would
 * otherwise cut a line short or drive the terminal of whoever reads the log. Printable text,
 * PortSentry's lines included, is unchanged.
 */
export function escapeControlCharacters(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => `#${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

export function formatSyslogRecord(
  message: string,
  opts: { ident: string; pid: number; date: Date; facility?: number; severity?: number },
): string {
  const priority = (opts.facility ?? FACILITY_DAEMON) * 8 + (opts.severity ?? SEVERITY_NOTICE);
  return `<${priority}>${syslogTimestamp(opts.date)} ${opts.ident}[${opts.pid}]: ${escapeControlCharacters(message)}`;
}

interface UnixDgramSocket {
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'writable', listener: () => void): this;
  send(buf: Buffer, offset: number, length: number, path: string, callback: (err?: Error) => void): void;
  close(): void;
}
interface UnixDgramModule {
  createSocket(type: 'unix_dgram'): UnixDgramSocket;
}
// unix-dgram is CommonJS without types; this is the one place it enters.
const unixDgram = createRequire(import.meta.url)('unix-dgram') as UnixDgramModule;

export interface SyslogStats {
  sent: number;
  /** Records lost since the start: the queue overflowed, the socket refused them, or close. */
  dropped: number;
  lastError: string | null;
}

export class SyslogWriter {
  readonly path: string;
  readonly #maxQueue: number;
  readonly #queue: Buffer[] = [];
  #socket: UnixDgramSocket | null = null;
  #retry: NodeJS.Timeout | null = null;
  readonly stats: SyslogStats = { sent: 0, dropped: 0, lastError: null };

  constructor(path: string, maxQueue = 1000) {
    this.path = path;
    this.#maxQueue = maxQueue;
  }

  #open(): UnixDgramSocket {
    if (!this.#socket) {
      const socket = unixDgram.createSocket('unix_dgram');
      socket.on('error', (err) => (this.stats.lastError = err.message));
      socket.on('writable', () => this.#flush());
      this.#socket = socket;
    }
    return this.#socket;
  }

  /** Queues one record; it is sent now if the socket takes it. */
  write(record: string): void {
    if (this.#queue.length >= this.#maxQueue) {
      this.#queue.shift();
      this.stats.dropped++;
    }
    this.#queue.push(Buffer.from(record));
    if (this.#queue.length === 1) this.#flush();
  }

  #flush(): void {
    const socket = this.#open();
    while (this.#queue.length > 0) {
      const buf = this.#queue[0] as Buffer;
      // unix-dgram calls back synchronously with the result of sendto().
      const result: { outcome: 'sent' | 'congested' | 'failed' } = { outcome: 'sent' };
      socket.send(buf, 0, buf.length, this.path, (err) => {
        if (!err) return;
        // Connected sockets report a full queue as 'congestion', sendto() as EAGAIN (-11).
        const code = (err as Error & { code?: unknown }).code;
        if (err.message === 'congestion' || code === -11) result.outcome = 'congested';
        else {
          result.outcome = 'failed';
          this.stats.lastError = err.message;
        }
      });
      const { outcome } = result;
      if (outcome === 'congested') {
        this.#scheduleRetry();
        return;
      }
      this.#queue.shift();
      if (outcome === 'sent') this.stats.sent++;
      else this.stats.dropped++;
    }
  }

  #scheduleRetry(): void {
    if (this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#flush();
    }, 20);
    this.#retry.unref();
  }

  /** Records waiting for the socket. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Drops not yet reported: returns how many were lost since the last call, once the queue has
   * drained (so a line saying so has room and is not itself dropped), else 0.
   */
  takeUnreportedDrops(): number {
    if (this.#queue.length > 0) return 0;
    const count = this.stats.dropped - this.#reportedDrops;
    this.#reportedDrops = this.stats.dropped;
    return count;
  }

  #reportedDrops = 0;

  /** Tries to deliver what is queued, then closes the socket. */
  close(): void {
    if (this.#queue.length > 0 && this.#socket) this.#flush();
    if (this.#retry) clearTimeout(this.#retry);
    this.stats.dropped += this.#queue.length;
    this.#queue.length = 0;
    this.#socket?.close();
    this.#socket = null;
  }
}
