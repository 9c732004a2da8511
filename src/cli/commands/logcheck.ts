/**
 * @module cli/commands/logcheck
 * The definition of `portsnare logcheck`: Debian logcheck 1.4.2's flags, one letter each with the
 * same meaning (logcheck(8)), plus long names; the run itself is logcheck/run.
 */
import { runLogcheck } from '../../logcheck/run.ts';
import { defineCommand, type Command } from '../command.ts';
import { HELP } from '../options.ts';

export const logcheck: Command = defineCommand({
  name: 'logcheck',
  description:
    'Logcheck, drop-in: mail (or print) the log lines added since the last run that the rules do not ignore',
  takesModes: false,
  options: {
    config: {
      short: 'c',
      type: 'string',
      valueName: 'CFG',
      description: 'logcheck.conf to read (default /etc/logcheck/logcheck.conf)',
    },
    debug: { short: 'd', type: 'boolean', description: 'Say on stderr what is read and decided' },
    hostname: { short: 'H', type: 'string', valueName: 'HOST', description: 'Host name in the subject' },
    logfile: {
      short: 'l',
      type: 'string',
      valueName: 'LOG',
      description: 'Check only this file (the logfile lists are not read)',
    },
    'logfiles-list': {
      short: 'L',
      type: 'string',
      valueName: 'CFG',
      description: 'Logfile list (default /etc/logcheck/logcheck.logfiles)',
    },
    'logfiles-dir': {
      short: 'D',
      type: 'string',
      valueName: 'DIR',
      description: 'Directory of *.logfiles lists (default /etc/logcheck/logcheck.logfiles.d)',
    },
    'mail-to': { short: 'm', type: 'string', valueName: 'MAIL', description: 'Recipient (SENDMAILTO)' },
    stdout: { short: 'o', type: 'boolean', description: 'Print the report instead of mailing it' },
    paranoid: { short: 'p', type: 'boolean', description: 'Report level paranoid' },
    'rules-dir': {
      short: 'r',
      type: 'string',
      valueName: 'DIR',
      description: 'Rule directory (RULEDIR, default /etc/logcheck)',
    },
    reboot: { short: 'R', type: 'boolean', description: 'Prefix the subject with "Reboot: "' },
    server: { short: 's', type: 'boolean', description: 'Report level server' },
    'state-dir': {
      short: 'S',
      type: 'string',
      valueName: 'DIR',
      description: 'Offset directory (default /var/lib/logcheck)',
    },
    test: { short: 't', type: 'boolean', description: 'Leave every offset as it was' },
    'keep-temp': {
      short: 'T',
      type: 'boolean',
      description: 'Accepted for compatibility (portsnare keeps no temporary files)',
    },
    summary: { short: 'u', type: 'boolean', description: 'Run SYSLOG_SUMMARY over each section' },
    version: { short: 'v', type: 'boolean', description: 'Print the version' },
    workstation: { short: 'w', type: 'boolean', description: 'Report level workstation' },
    'allow-root': { type: 'boolean', description: 'Run as root although logcheck would refuse' },
    help: HELP,
  },
  exec: ({ options }, io) => runLogcheck(options, io),
});
