/**
 * @module cli/commands/report
 * The definition of `portsnare report`: a digest of the log lines added since the last digest
 * (attackers first, then logcheck's sections as templates), mailed or printed; digest/run runs it.
 */
import { runReport } from '../../digest/run.ts';
import { defineCommand, type Command } from '../command.ts';
import { CONFIG, HELP } from '../options.ts';

export const report: Command = defineCommand({
  name: 'report',
  description:
    'A digest of the new log lines: attackers first, then the rest as counted templates; mailed or printed',
  takesModes: false,
  options: {
    config: CONFIG,
    log: {
      type: 'string',
      multiple: true,
      valueName: 'FILE',
      description: 'Read this file whole instead of the logfile lists (repeatable); no offset moves',
    },
    since: {
      type: 'string',
      valueName: 'TIME',
      description: 'Lines from this time on (2025-11-22 10:00, 6h, 2d, today, yesterday) instead of offsets',
    },
    format: { type: 'string', valueName: 'FMT', description: 'text, html or json (default REPORT_FORMAT)' },
    stdout: { type: 'boolean', description: 'Print the digest instead of mailing it' },
    'mail-to': {
      type: 'string',
      multiple: true,
      valueName: 'ADDR',
      description: 'Recipient instead of REPORT_MAIL_TO (repeatable)',
    },
    test: { type: 'boolean', description: 'Leave the offsets and the previous listing as they were' },
    help: HELP,
  },
  exec: ({ options }, io) => runReport(options, io),
});
