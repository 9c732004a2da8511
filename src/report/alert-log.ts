/**
 * @module report/alert-log
 * The log as the CLI opens it: a reporter with the syslog sink and, in the foreground, the stderr
 * mirror. The AlertLog interface and the `portsnare:message` channel live in report/reporter and
 * are re-exported here for the modules that log.
 */
import { Reporter } from './reporter.ts';
import { StreamSink } from './sinks/stream-sink.ts';
import { SyslogSink } from './sinks/syslog-sink.ts';
import type { SyslogWriter } from './syslog.ts';

export { messageChannel, type AlertLog, type MessageLogged } from './reporter.ts';

export interface AlertLogOptions {
  ident: string;
  pid?: number;
  syslog: SyslogWriter | null;
  /** Mirror every line to this stream (stderr in --foreground). */
  mirror?: NodeJS.WritableStream | null;
  now?: () => Date;
}

/** A reporter sending every message to syslog and, with `mirror`, to that stream as well. */
export function createAlertLog(opts: AlertLogOptions): Reporter {
  const pid = opts.pid ?? process.pid;
  const reporter = new Reporter([], opts.now);
  if (opts.syslog) reporter.add(new SyslogSink(opts.syslog, opts.ident, pid));
  if (opts.mirror) reporter.add(new StreamSink(opts.mirror, `${opts.ident}[${pid}]: `));
  return reporter;
}
