// Fake /dev/log for tests: a unix datagram socket at a path the test chooses, collecting the
// RFC 3164 records the daemon sends (`<PRI>Mmm dd hh:mm:ss ident[pid]: message`).
//
// Parsing is strict. A datagram that does not match is kept as a parse failure, and from then on
// `records()`, `messages()` and `waitForMessage()` throw a SyslogParseError naming it, so a
// malformed log line fails the test instead of vanishing. `failures()` lists them without
// throwing. The socket lives in the file system, so a daemon running in another network namespace
// (same mount namespace) can log to it. `close()` removes the socket file.

import { createRequire } from 'node:module';
import { rm } from 'node:fs/promises';

// Minimal typing for the CommonJS `unix-dgram` package (it ships no types).
interface UnixDgramSocket {
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'message', listener: (buf: Buffer | null) => void): this;
  once(event: 'error' | 'listening', listener: (err?: Error) => void): this;
  removeListener(event: string, listener: (...args: never[]) => void): this;
  bind(path: string): void;
  send(buf: Buffer, offset: number, length: number, path: string, callback?: (err?: Error) => void): void;
  close(): void;
}
interface UnixDgramModule {
  createSocket(type: 'unix_dgram', listener?: (buf: Buffer | null) => void): UnixDgramSocket;
}
const unix = createRequire(import.meta.url)('unix-dgram') as UnixDgramModule;

export interface SyslogRecord {
  raw: string;
  priority: number;
  timestamp: string;
  ident: string;
  pid: number;
  message: string;
}

export interface SyslogParseFailure {
  raw: string;
  reason: string;
}

export interface WaitForMessageOptions {
  /** Default 5000 ms. */
  timeoutMs?: number;
  /** Resolve once at least this many matching records arrived. Default 1. */
  count?: number;
}

export interface SyslogSink {
  path: string;
  /** All records received so far; throws SyslogParseError if any datagram failed to parse. */
  records(): SyslogRecord[];
  /** The message part (after "ident[pid]: ") of every record; throws like records(). */
  messages(): string[];
  /** Datagrams that did not parse, in arrival order. Never throws. */
  failures(): SyslogParseFailure[];
  /** Resolves with all matching records once `count` of them arrived (substring or RegExp on the message). */
  waitForMessage(match: string | RegExp, opts?: WaitForMessageOptions): Promise<SyslogRecord[]>;
  close(): Promise<void>;
}

export class SyslogParseError extends Error {
  constructor(
    readonly path: string,
    readonly failures: SyslogParseFailure[],
  ) {
    super(
      `syslog sink ${path}: ${failures.length} datagram(s) are not valid RFC 3164 records:\n` +
        failures.map((f) => `  ${JSON.stringify(f.raw)} (${f.reason})`).join('\n'),
    );
    this.name = 'SyslogParseError';
  }
}

const RECORD_RE =
  /^<(\d{1,3})>((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (?: [1-9]|[12]\d|3[01]) (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d) ([^\s[\]:]+)\[(\d+)\]: (.*)$/;

/** Parses one datagram; returns a failure reason string instead of throwing. */
export function parseSyslogRecord(raw: string): SyslogRecord | string {
  const m = RECORD_RE.exec(raw);
  if (!m) return 'does not match <PRI>Mmm dd hh:mm:ss ident[pid]: message';
  const [, pri, timestamp, ident, pid, message] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const priority = Number(pri);
  if (priority > 191) return `priority ${priority} out of range 0-191`;
  return { raw, priority, timestamp, ident, pid: Number(pid), message };
}

function matches(match: string | RegExp, message: string): boolean {
  if (typeof match === 'string') return message.includes(match);
  match.lastIndex = 0;
  return match.test(message);
}

export async function createSyslogSink(path: string): Promise<SyslogSink> {
  const records: SyslogRecord[] = [];
  const failures: SyslogParseFailure[] = [];
  const listeners = new Set<() => void>();
  let closed = false;

  const sock = unix.createSocket('unix_dgram', (buf) => {
    if (!buf) return;
    const raw = buf.toString('utf8');
    const parsed = parseSyslogRecord(raw);
    if (typeof parsed === 'string') failures.push({ raw, reason: parsed });
    else records.push(parsed);
    for (const l of [...listeners]) l();
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err?: Error) => {
      reject(
        new Error(`syslog sink: cannot bind ${path}: ${err?.message ?? 'unknown error'}`, { cause: err }),
      );
    };
    sock.once('error', onError);
    sock.once('listening', () => {
      sock.removeListener('error', onError);
      resolve();
    });
    sock.bind(path); // emits 'listening' or 'error' synchronously
  }).catch((err: unknown) => {
    sock.close();
    throw err;
  });
  sock.on('error', (err) => failures.push({ raw: '', reason: `socket error: ${err.message}` }));

  const checked = (): SyslogRecord[] => {
    if (failures.length > 0) throw new SyslogParseError(path, [...failures]);
    return [...records];
  };

  return {
    path,
    records: checked,
    messages: () => checked().map((r) => r.message),
    failures: () => [...failures],
    waitForMessage(match, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? 5000;
      const count = opts.count ?? 1;
      return new Promise((resolve, reject) => {
        // Only records that arrived since the last look are scanned: under a flood of log lines a
        // rescan per datagram would make this reader the bottleneck (and the daemon's bounded
        // syslog queue would then drop lines).
        const hits: SyslogRecord[] = [];
        let scanned = 0;
        const check = () => {
          try {
            if (failures.length > 0) throw new SyslogParseError(path, [...failures]);
            for (; scanned < records.length; scanned++) {
              const record = records[scanned] as SyslogRecord;
              if (matches(match, record.message)) hits.push(record);
            }
            if (hits.length < count) return;
            done();
            resolve(hits);
          } catch (err) {
            done();
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        };
        const timer = setTimeout(() => {
          done();
          const got = records.filter((r) => matches(match, r.message)).length;
          const seen = records.map((r) => `  ${r.message}`).join('\n') || '  (none)';
          reject(
            new Error(
              `syslog sink ${path}: timed out after ${timeoutMs} ms waiting for ${count} message(s) ` +
                `matching ${String(match instanceof RegExp ? match : JSON.stringify(match))}; ` +
                `got ${got}. Messages received:\n${seen}`,
            ),
          );
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      sock.close();
      await rm(path, { force: true });
    },
  };
}

/** Sends one datagram to a unix datagram socket (for tests that play the daemon's part). */
export async function sendDatagram(path: string, text: string | Buffer): Promise<void> {
  const sock = unix.createSocket('unix_dgram');
  const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  try {
    await new Promise<void>((resolve, reject) =>
      sock.send(buf, 0, buf.length, path, (err) => (err ? reject(err) : resolve())),
    );
  } finally {
    sock.close();
  }
}
