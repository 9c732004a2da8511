/**
 * @module report/alert-log
 * Where log messages go: formatted once (report/messages), published on the `portsnare:message`
 * diagnostics channel, sent to syslog, and in the foreground also written to stderr.
 */
import { ChannelNames, TypedChannel } from '../diagnostics.ts';
import { formatMessage, type LogMessage } from './messages.ts';
import { formatSyslogRecord, syslogTimestamp, type SyslogWriter } from './syslog.ts';

/** What the alert log publishes on `portsnare:message` for every message, before it is written. */
export interface MessageLogged {
  message: LogMessage;
  text: string;
}

export const messageChannel = new TypedChannel<MessageLogged>(ChannelNames.message);

export interface AlertLog {
  log(message: LogMessage): void;
  close(): void;
}

export interface AlertLogOptions {
  ident: string;
  pid?: number;
  syslog: SyslogWriter | null;
  /** Mirror every line to this stream (stderr in --foreground). */
  mirror?: NodeJS.WritableStream | null;
  now?: () => Date;
}

export function createAlertLog(opts: AlertLogOptions): AlertLog {
  const pid = opts.pid ?? process.pid;
  const now = opts.now ?? (() => new Date());
  // A mirror that goes away (the terminal closed, a pipe reader died) is dropped, never retried:
  // its write errors must not turn into an endless stream of errors about logging errors.
  let mirror = opts.mirror ?? null;
  mirror?.once('error', () => {
    mirror = null;
  });
  return {
    log(message) {
      const text = formatMessage(message);
      const date = now();
      messageChannel.publish({ message, text });
      opts.syslog?.write(formatSyslogRecord(text, { ident: opts.ident, pid, date }));
      mirror?.write(`${syslogTimestamp(date)} ${opts.ident}[${pid}]: ${text}\n`);
    },
    close() {
      opts.syslog?.close();
    },
  };
}
