/**
 * @module report/sinks/syslog-sink
 * Every message to syslog as glibc's syslog(3) sends it (report/syslog): `<PRI>timestamp
 * ident[pid]: text`, one datagram each. Counts the lines the writer dropped (`syslog.dropped`) and,
 * once its queue drained, says how many were dropped since it last said so. Closing the sink closes
 * the writer.
 */
import type { LogMessage } from '../messages.ts';
import type { MessageEvent, Sink } from '../reporter.ts';
import { formatSyslogRecord, type SyslogWriter } from '../syslog.ts';

export class SyslogSink implements Sink {
  readonly #writer: SyslogWriter;
  readonly #ident: string;
  readonly #pid: number;

  constructor(writer: SyslogWriter, ident: string, pid: number) {
    this.#writer = writer;
    this.#ident = ident;
    this.#pid = pid;
  }

  message(event: MessageEvent): void {
    this.#writer.write(
      formatSyslogRecord(event.text, { ident: this.#ident, pid: this.#pid, date: event.date }),
    );
  }

  counters(): Record<string, number> {
    return { 'syslog.dropped': this.#writer.stats.dropped };
  }

  notices(): LogMessage[] {
    const count = this.#writer.takeUnreportedDrops();
    return count > 0 ? [{ kind: 'syslogDropped', count }] : [];
  }

  close(): void {
    this.#writer.close();
  }
}
