/**
 * @module report/sinks/syslog-sink
 * Every message to syslog as glibc's syslog(3) sends it (report/syslog): `<PRI>timestamp
 * ident[pid]: text`, one datagram each. Closing the sink closes the writer.
 */
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

  close(): void {
    this.#writer.close();
  }
}
