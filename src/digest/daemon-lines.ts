/**
 * @module digest/daemon-lines
 * PortSentry's and portsnare's routine lines about themselves (starting, listening on a port,
 * active, advanced-mode limits, capture opened, alert mail sent or deferred, shutting down), which no stock logcheck rule
 * ignores, folded into one line of the digest: "started 3 times, stopped once; listening on 25
 * TCP and 6 UDP ports". On the fixture sample they are 42 of the 61 System Events. Errors and
 * warnings are not routine: they stay lines of System Events.
 */
import type { SyslogLine } from './syslog-line.ts';

const IDENTS = new Set(['portsentry', 'portsnare']);

const LISTEN = /^adminalert: Going into (?:stealth )?listen mode on (TCP|UDP) port: (\d+)$/;
const ROUTINE = [
  /^adminalert: PortSentry \S+ is starting\.$/,
  /^adminalert: PortSentry is now active and listening\.$/,
  /^adminalert: PortSentry is shutting down$/,
  /^adminalert: Advanced mode will monitor first \d+ ports$/,
  /^adminalert: Advanced mode will manually exclude (?:port: \d+ ?|no ports)$/,
  /^adminalert: Advanced Stealth scan detection mode activated\. Ignored (?:TCP|UDP) port: \d+$/,
  /^adminalert: Capturing on \S+ with filter: /,
  /^adminalert: Alert mail deferred: /,
];
const ALERT_SENT = /^adminalert: Alert mail sent to /;

export interface DaemonSummary {
  readonly lines: number;
  readonly starts: number;
  readonly stops: number;
  readonly tcpPorts: number;
  readonly udpPorts: number;
  /** Immediate alert mails the daemon sent (REPORT_ALERT_MAIL). */
  readonly alertMails: number;
  readonly first: number | null;
  readonly last: number | null;
}

export class DaemonLines {
  readonly #tcp = new Set<number>();
  readonly #udp = new Set<number>();
  #lines = 0;
  #starts = 0;
  #stops = 0;
  #alertMails = 0;
  #first: number | null = null;
  #last: number | null = null;

  /** True when the line is routine (counted here, not shown as a System Event). */
  add(parsed: SyslogLine): boolean {
    if (!IDENTS.has(parsed.program) || !parsed.message.startsWith('adminalert: ')) return false;
    const m = parsed.message;
    const listen = LISTEN.exec(m);
    if (listen) (listen[1] === 'TCP' ? this.#tcp : this.#udp).add(Number(listen[2]));
    else if (ALERT_SENT.test(m)) this.#alertMails++;
    else if (!ROUTINE.some((r) => r.test(m))) return false;
    if (m.endsWith(' is starting.')) this.#starts++;
    if (m.endsWith(' is shutting down')) this.#stops++;
    this.#lines++;
    if (this.#first === null || parsed.time < this.#first) this.#first = parsed.time;
    if (this.#last === null || parsed.time > this.#last) this.#last = parsed.time;
    return true;
  }

  summary(): DaemonSummary {
    return {
      lines: this.#lines,
      starts: this.#starts,
      stops: this.#stops,
      tcpPorts: this.#tcp.size,
      udpPorts: this.#udp.size,
      alertMails: this.#alertMails,
      first: this.#first,
      last: this.#last,
    };
  }
}
