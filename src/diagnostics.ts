/**
 * @module diagnostics
 * Typed diagnostics_channel channels. Tests and tools subscribe to these instead of scraping log
 * text. The names are listed here; each channel is created (with its payload type) by the module
 * that publishes on it, so this module imports nothing of ours and cannot be part of a cycle:
 * - `portsnare:message`: every alert-log message before formatting (report/alert-log)
 * - `portsnare:probe`: every probe event with the detector's verdict (detect/detector)
 * - `portsnare:response`: every finished response (respond/classic-responder)
 */
import diagnosticsChannel from 'node:diagnostics_channel';

export const ChannelNames = {
  message: 'portsnare:message',
  probe: 'portsnare:probe',
  response: 'portsnare:response',
} as const;

export type ChannelName = (typeof ChannelNames)[keyof typeof ChannelNames];

/** A diagnostics channel whose messages are of one type. */
export class TypedChannel<T> {
  readonly #channel: diagnosticsChannel.Channel;

  constructor(readonly name: ChannelName) {
    this.#channel = diagnosticsChannel.channel(name);
  }

  get hasSubscribers(): boolean {
    return this.#channel.hasSubscribers;
  }

  publish(message: T): void {
    if (this.#channel.hasSubscribers) this.#channel.publish(message);
  }

  /** Subscribes; returns the function that unsubscribes. */
  subscribe(listener: (message: T) => void): () => void {
    const wrapped = (message: unknown) => listener(message as T);
    diagnosticsChannel.subscribe(this.name, wrapped);
    return () => diagnosticsChannel.unsubscribe(this.name, wrapped);
  }
}
