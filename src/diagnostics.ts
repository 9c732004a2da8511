/**
 * @module diagnostics
 * Named diagnostics_channel channels. Tests and tools subscribe to these instead of scraping log text:
 * every alert-log message, every probe the detector judged, and every response outcome is published.
 */
import diagnosticsChannel from 'node:diagnostics_channel';

export const channels = {
  /** Every log message, as the typed LogMessage, before formatting. */
  message: diagnosticsChannel.channel('portsnare:message'),
  /** Every probe event with the detector's verdict. */
  probe: diagnosticsChannel.channel('portsnare:probe'),
  /** Every finished response: { source, mode, ok, actions }. */
  response: diagnosticsChannel.channel('portsnare:response'),
};
