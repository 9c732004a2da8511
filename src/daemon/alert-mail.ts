/**
 * @module daemon/alert-mail
 * The immediate Security Alert mail (REPORT_ALERT_MAIL=1): the first block sends one short plain-text
 * mail at once, then at most one mail per REPORT_ALERT_INTERVAL seconds (daemon/alert-rate), so a
 * scan storm cannot become a mail storm (psad's failure). Blocks inside the quiet interval get no
 * mail: they are counted (counter `alertMail.deferred`, one line per interval) and left to the next
 * digest, which reads them from syslog like every block. There is deliberately no summary mail when
 * an interval ends: a mail only ever goes out because a host was just blocked, and that mail says
 * how many earlier blocks went without one ("N earlier blocks ... are in the next digest"); the
 * digest is where the rest of a storm is read, and the key's own description promises exactly that.
 *
 * Only detection bans are mailed: a manual `portsnare block` is the administrator's own act, and
 * bans put back at start are not new. Delivery never holds up detection or blocking: the ban
 * keeper's hook is synchronous and only counts or starts a delivery; at most one delivery is in
 * flight (a block during one is deferred); a failure is logged once, counted, and not retried: the
 * interval counts from the attempt, so the next try is a block after it. The stamp is kept in
 * STATE_DIR (written atomically, coalesced), so a restart during a storm does not reset the limit.
 * Settings are read at each block, so a SIGHUP's new REPORT_* values apply to the next one.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Settings } from '../config/settings.ts';
import { transportOf } from '../digest/mail.ts';
import { describeError, systemErrorCode } from '../errors.ts';
import { writeFileAtomic } from '../logcheck/offsets.ts';
import { deliverMail, type OutgoingMail, type Transport } from '../mail/deliver.ts';
import type { AlertLog } from '../report/alert-log.ts';
import type { Ban } from '../state/ban-store.ts';
import {
  AlertRateLimit,
  formatAlertRateState,
  parseAlertRateState,
  type AlertDecision,
} from './alert-rate.ts';

export interface AlertMailDeps {
  settings: () => Settings;
  log: AlertLog;
  /** The stamp file (STATE_DIR/alert-mail.json). */
  path: string;
  now?: () => number;
  /** Hands the mail over; default deliverMail by the REPORT_* transport. */
  send?: (mail: OutgoingMail, settings: Settings) => Promise<unknown>;
  /** The host name in subject, body and default sender; default os.hostname(). */
  host?: string;
}

export interface AlertMailCounters {
  'alertMail.sent': number;
  'alertMail.failed': number;
  'alertMail.deferred': number;
}

/** The sendmail transport has no timeout of its own in transportOf; a hung one must not hold the one slot forever. */
async function defaultSend(mail: OutgoingMail, settings: Settings): Promise<unknown> {
  const transport: Transport = await transportOf(settings);
  const bounded: Transport =
    transport.kind === 'sendmail' && transport.timeoutMs === undefined
      ? { ...transport, timeoutMs: settings.reportSmtpTimeout * 1000 }
      : transport;
  return deliverMail(mail, bounded);
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** HH:MM:SS, local time (what the administrator's syslog shows). */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** YYYY-MM-DD HH:MM:SS +HHMM, local time. */
export function localDateTime(ms: number): string {
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clockTime(ms)} ` +
    `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

/** The alert mail of one ban, with what the rate limit decided. */
export function composeAlertMail(
  ban: Ban,
  decision: Extract<AlertDecision, { kind: 'send' }>,
  opts: { host: string; from: string; to: readonly string[]; intervalSeconds: number },
): OutgoingMail {
  const until =
    ban.expires === null ? 'until unblocked' : `until ${localDateTime(ban.expires)} (then lifted by itself)`;
  const lines = [
    `portsnare on ${opts.host} blocked ${ban.address}.`,
    '',
    `Address:  ${ban.address}`,
    `Time:     ${localDateTime(ban.since)}`,
    `Scan:     ${ban.scanType} (mode ${ban.mode})`,
    `Ports:    ${ban.ports.length > 0 ? ban.ports.join(', ') : '-'}`,
    `Backends: ${ban.backends.length > 0 ? ban.backends.join(', ') : '-'}`,
    `Blocked:  ${until}`,
    '',
  ];
  if (decision.earlier > 0) {
    lines.push(
      `${decision.earlier} earlier block(s)${decision.since === null ? '' : ` since ${localDateTime(decision.since)}`} got no alert mail of their own; they are in the next digest.`,
    );
  }
  lines.push(
    `At most one alert mail goes out per ${opts.intervalSeconds} s (REPORT_ALERT_INTERVAL): blocks until ${clockTime(ban.since + opts.intervalSeconds * 1000)} are counted in the next alert mail and listed in the next digest (portsnare report).`,
    '',
  );
  return {
    from: opts.from,
    to: opts.to,
    subject: `portsnare alert on ${opts.host}: ${ban.address} blocked`,
    text: lines.join('\n'),
  };
}

export class AlertMailer {
  readonly #deps: AlertMailDeps;
  readonly #now: () => number;
  readonly #send: (mail: OutgoingMail, settings: Settings) => Promise<unknown>;
  readonly #host: string;
  #limit = new AlertRateLimit();
  #inflight: Promise<void> | null = null;
  #saving: Promise<void> | null = null;
  #dirty = false;
  /** A failing stamp write is said once, until a write works again. */
  #saveFailed = false;
  readonly #counters: AlertMailCounters = {
    'alertMail.sent': 0,
    'alertMail.failed': 0,
    'alertMail.deferred': 0,
  };

  constructor(deps: AlertMailDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#send = deps.send ?? defaultSend;
    this.#host = deps.host ?? hostname();
  }

  counters(): AlertMailCounters {
    return { ...this.#counters };
  }

  /** What the limit knows now (tests, and what the file holds once saved). */
  get state() {
    return this.#limit.state;
  }

  /** Reads the stamp a previous run left; a missing file is a first start, a damaged one is said and replaced. */
  async load(): Promise<void> {
    const { path, log } = this.#deps;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (systemErrorCode(err) !== 'ENOENT') {
        log.log({
          kind: 'alertMailState',
          path,
          text: `cannot be read (${describeError(err)}); starting afresh`,
        });
      }
      return;
    }
    const state = parseAlertRateState(text);
    if (state === null) {
      log.log({ kind: 'alertMailState', path, text: 'is not an alert mail state file; starting afresh' });
      return;
    }
    this.#limit = new AlertRateLimit(state);
  }

  /** The ban keeper's hook: synchronous, never throws, never waits for the mail. */
  blocked(ban: Ban): void {
    try {
      this.#blocked(ban);
    } catch (err) {
      this.#counters['alertMail.failed']++;
      this.#deps.log.log({
        kind: 'alertMailFailed',
        address: ban.address,
        reason: describeError(err),
        intervalSeconds: this.#deps.settings().reportAlertInterval,
      });
    }
  }

  #blocked(ban: Ban): void {
    const settings = this.#deps.settings();
    if (!settings.reportAlertMail || ban.origin !== 'detection') return;
    const now = this.#now();
    const intervalSeconds = settings.reportAlertInterval;
    const decision = this.#limit.offer(now, intervalSeconds * 1000, this.#inflight !== null);
    this.#save();
    if (decision.kind === 'defer') {
      this.#counters['alertMail.deferred']++;
      if (decision.first) {
        this.#deps.log.log({
          kind: 'alertMailDeferred',
          address: ban.address,
          intervalSeconds,
          until: clockTime(decision.until),
        });
      }
      return;
    }
    const task = this.#deliver(ban, decision, settings, now);
    this.#inflight = task;
    void task.finally(() => {
      if (this.#inflight === task) this.#inflight = null;
    });
  }

  async #deliver(
    ban: Ban,
    decision: Extract<AlertDecision, { kind: 'send' }>,
    settings: Settings,
    at: number,
  ): Promise<void> {
    const { log } = this.#deps;
    try {
      const mail = composeAlertMail(ban, decision, {
        host: this.#host,
        from: settings.reportMailFrom || `portsnare@${this.#host}`,
        to: settings.reportMailTo,
        intervalSeconds: settings.reportAlertInterval,
      });
      await this.#send(mail, settings);
      this.#counters['alertMail.sent']++;
      log.log({
        kind: 'alertMailSent',
        address: ban.address,
        to: settings.reportMailTo.join(', '),
        earlier: decision.earlier,
      });
    } catch (err) {
      this.#counters['alertMail.failed']++;
      // Not mailed: this block and those the mail carried are counted by the next mail.
      this.#limit.failed(at, decision.earlier, decision.since);
      this.#save();
      log.log({
        kind: 'alertMailFailed',
        address: ban.address,
        reason: describeError(err),
        intervalSeconds: settings.reportAlertInterval,
      });
    }
  }

  /** Writes the state soon: one write at a time, the last state always written last. */
  #save(): void {
    this.#dirty = true;
    if (this.#saving) return;
    const saving = this.#flush();
    this.#saving = saving;
    void saving.finally(() => {
      if (this.#saving === saving) this.#saving = null;
    });
  }

  async #flush(): Promise<void> {
    while (this.#dirty) {
      this.#dirty = false;
      try {
        await writeFileAtomic(this.#deps.path, formatAlertRateState(this.#limit.state));
        this.#saveFailed = false;
      } catch (err) {
        if (!this.#saveFailed) {
          this.#deps.log.log({
            kind: 'alertMailState',
            path: this.#deps.path,
            text: `cannot be written (${describeError(err)}); a restart may send one alert mail early`,
          });
        }
        this.#saveFailed = true;
      }
    }
  }

  /** Shutdown: the mail in flight gets up to `waitMs`, then the state is written. */
  async close(waitMs: number): Promise<void> {
    const inflight = this.#inflight;
    if (inflight) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([inflight, new Promise((resolve) => (timer = setTimeout(resolve, waitMs).unref()))]);
      clearTimeout(timer);
    }
    while (this.#saving) await this.#saving;
  }
}
