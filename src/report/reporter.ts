/**
 * @module report/reporter
 * The one way out for everything portsnare says or records: typed events (a log message; a host
 * blocked; hosts no longer blocked) fanned out, in order, to sinks (syslog, the stderr mirror, the
 * history and blocked files, replay's printout). Formats each message once and publishes it on the
 * `portsnare:message` channel. It knows no sink by name: adding a sink is one new module. The texts
 * themselves live in report/messages.
 */
import { ChannelNames, TypedChannel } from '../diagnostics.ts';
import type { Mode } from '../detect/probe.ts';
import { formatMessage, type LogMessage } from './messages.ts';

/** Where log messages go (what sensors, responders and the ban keeper are given). */
export interface AlertLog {
  log(message: LogMessage): void;
  close(): void;
}

/** What the reporter publishes on `portsnare:message` for every message, before it is written. */
export interface MessageLogged {
  message: LogMessage;
  text: string;
}

export const messageChannel = new TypedChannel<MessageLogged>(ChannelNames.message);

/** A message as sinks get it: formatted once, with the time it was said. */
export interface MessageEvent {
  message: LogMessage;
  text: string;
  date: Date;
}

/** A host blocked: its history/blocked-file line (report/history's format) and the mode that saw it. */
export interface BlockRecord {
  line: string;
  address: string;
  mode: Mode;
}

/**
 * One destination. Every method is optional; a sink takes the events it cares about. `open` runs
 * before the daemon acts (a failure stops the start); `blocked` and `lifted` are awaited in sink
 * order, so a history line is on disk before the blocked-file line.
 */
export interface Sink {
  open?(): Promise<void>;
  message?(event: MessageEvent): void;
  blocked?(record: BlockRecord): Promise<void>;
  lifted?(addresses: readonly string[]): Promise<void>;
  /** The sink's own counters (e.g. `syslog.dropped`), for the counters line and `status`. */
  counters?(): Record<string, number>;
  /** What the sink has to say about itself now (e.g. lines it lost), logged through every sink. */
  notices?(): LogMessage[];
  close?(): void;
}

export class Reporter implements AlertLog {
  readonly #sinks: Sink[] = [];
  readonly #now: () => Date;

  constructor(sinks: readonly Sink[] = [], now: () => Date = () => new Date()) {
    this.#sinks.push(...sinks);
    this.#now = now;
  }

  /** Adds a sink after the others (file sinks report their own failures through this reporter). */
  add(sink: Sink): this {
    this.#sinks.push(sink);
    return this;
  }

  async open(): Promise<void> {
    for (const sink of this.#sinks) await sink.open?.();
  }

  log(message: LogMessage): void {
    const text = formatMessage(message);
    const event: MessageEvent = { message, text, date: this.#now() };
    messageChannel.publish({ message, text });
    for (const sink of this.#sinks) sink.message?.(event);
  }

  async blocked(record: BlockRecord): Promise<void> {
    for (const sink of this.#sinks) await sink.blocked?.(record);
  }

  async lifted(addresses: readonly string[]): Promise<void> {
    for (const sink of this.#sinks) await sink.lifted?.(addresses);
  }

  /** Every sink's counters, flat. */
  counters(): Record<string, number> {
    const all: Record<string, number> = {};
    for (const sink of this.#sinks) Object.assign(all, sink.counters?.());
    return all;
  }

  /** Logs what the sinks have to say about themselves (the daemon asks on a timer and at shutdown). */
  notify(): void {
    for (const sink of this.#sinks) for (const message of sink.notices?.() ?? []) this.log(message);
  }

  close(): void {
    for (const sink of this.#sinks) sink.close?.();
  }
}
