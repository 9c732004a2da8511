/**
 * @module report/sinks/stream-sink
 * Every message as a text line on a stream: `timestamp PREFIXtext`. The foreground daemon mirrors
 * syslog to stderr with the prefix `ident[pid]: `; `replay` prints to stdout with none, in packet
 * time. A stream that goes away (the terminal closed, a pipe reader died) is dropped, never retried:
 * its write errors must not turn into an endless stream of errors about logging errors. Control
 * characters are escaped as syslog's are (`#033`).
 */
import type { LogMessage } from '../messages.ts';
import type { MessageEvent, Sink } from '../reporter.ts';
import { escapeControlCharacters, syslogTimestamp } from '../syslog.ts';

export class StreamSink implements Sink {
  #stream: NodeJS.WritableStream | null;
  readonly #prefix: string;
  readonly #skip: (message: LogMessage) => boolean;

  /** `skip`: messages not written (replay leaves out what only a live host says). */
  constructor(
    stream: NodeJS.WritableStream,
    prefix: string,
    skip: (message: LogMessage) => boolean = () => false,
  ) {
    this.#stream = stream;
    this.#prefix = prefix;
    this.#skip = skip;
    stream.once('error', () => {
      this.#stream = null;
    });
  }

  message(event: MessageEvent): void {
    if (this.#skip(event.message)) return;
    // The same escaped text as syslog gets: no raw control character reaches a terminal.
    this.#stream?.write(
      `${syslogTimestamp(event.date)} ${this.#prefix}${escapeControlCharacters(event.text)}\n`,
    );
  }
}
