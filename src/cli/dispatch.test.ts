/**
 * @module cli/dispatch.test
 * The dispatcher and the command table: every command is found by its name and runs from the
 * table; the usage text is generated from the same definitions and is exactly the text below.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { ExitCodes } from '../exit-codes.ts';
import { COMMANDS, DEFAULT_COMMAND, findCommand } from './commands/index.ts';
import { dispatch } from './dispatch.ts';
import { parseCommandLine } from './parse.ts';
import { synopsis, usage } from './usage.ts';

/** A stream that keeps what is written to it. */
function collector(): Writable & { text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

const EXPECTED_USAGE =
  [
    'Usage: portsnare [-tcp] [-udp] [options]            run the daemon',
    '       portsnare <command> [options]',
    '',
    'Modes (PortSentry flags; one TCP and one UDP mode may be combined):',
    '  -tcp  -udp     classic: listen on TCP_PORTS / UDP_PORTS; a connection or datagram is a hit',
    '  -stcp -sudp    stealth: watch packets to TCP_PORTS / UDP_PORTS (SYN, FIN, NULL, XMAS, UDP probes)',
    '  -atcp -audp    advanced: watch every port below ADVANCED_PORTS_TCP/UDP that no service uses',
    '  Without a mode flag, TCP_MODE/UDP_MODE from the defaults file are used, else -tcp -udp.',
    '',
    'Commands:',
    '  run                    Run the daemon (the default command)',
    '  check-config           Print the effective settings and every problem found; exit non-zero on errors',
    '  replay FILE.pcap       Run a capture file through the detector; print what the daemon would log and block, touching nothing',
    "  status                 The daemon's modes, traps, blocking backend, counters and bans (exit 3 if it is not running)",
    '  list                   The current bans: address, since, expires, ports, scan type, mode, backends',
    '  block ADDR             Ban an address by hand in every blocking backend (never one the daemon must not block)',
    '  unblock ADDR|CIDR      Lift every ban an address or CIDR block covers, from every backend and the store',
    '  flush                  Lift every ban portsnare made, in every backend; touches nothing it did not add',
    '  logcheck               Logcheck, drop-in: mail (or print) the log lines added since the last run that the rules do not ignore',
    '  report                 A digest of the new log lines: attackers first, then the rest as counted templates; mailed or printed',
    '',
    'status, list, block, unblock and flush talk to the running daemon over STATE_DIR/portsnare.sock (root only); with no daemon they act on the ban store directly.',
    '',
    'Options of run:',
    '  -c, --config PATH            portsentry.conf to read (default /etc/portsentry/portsentry.conf; built-in defaults if absent)',
    '      --defaults-file PATH     Where TCP_MODE/UDP_MODE are read when no mode flag is given (default /etc/default/portsentry)',
    '  -f, --foreground             Stay attached; log lines also go to stderr',
    '  -V, --version                Print the version and exit',
    '  -h, --help                   Show this help',
    '',
    'Options of check-config:',
    '  -c, --config PATH            portsentry.conf to read (default /etc/portsentry/portsentry.conf; built-in defaults if absent)',
    '      --defaults-file PATH     Where TCP_MODE/UDP_MODE are read when no mode flag is given (default /etc/default/portsentry)',
    '  -h, --help                   Show this help',
    '',
    'Options of replay:',
    '  -c, --config PATH            portsentry.conf to read (default /etc/portsentry/portsentry.conf; built-in defaults if absent)',
    '      --defaults-file PATH     Where TCP_MODE/UDP_MODE are read when no mode flag is given (default /etc/default/portsentry)',
    "      --local ADDR             This host's address in the capture (repeatable); without it every destination counts",
    '  -h, --help                   Show this help',
    '',
    'Options of status:',
    '  -c, --config PATH            portsentry.conf to read (default /etc/portsentry/portsentry.conf; built-in defaults if absent)',
    '      --json                   Print JSON instead of a table',
    '  -h, --help                   Show this help',
    '',
    'Options of list:',
    '  -c, --config PATH            portsentry.conf to read (default /etc/portsentry/portsentry.conf; built-in defaults if absent)',
    '      --json                   Print JSON instead of a table',
    '  -h, --help                   Show this help',
    '',
    'Options of block:',
    '  -c, --config PATH            portsentry.conf to read (default /etc/portsentry/portsentry.conf; built-in defaults if absent)',
    '      --for DURATION           How long: 90, 90s, 15m, 2h, 7d, 1w (default BLOCK_TIME; 0 there means until unblocked)',
    '  -h, --help                   Show this help',
    '',
    'Options of unblock:',
    '  -c, --config PATH            portsentry.conf to read (default /etc/portsentry/portsentry.conf; built-in defaults if absent)',
    '  -h, --help                   Show this help',
    '',
    'Options of flush:',
    '  -c, --config PATH            portsentry.conf to read (default /etc/portsentry/portsentry.conf; built-in defaults if absent)',
    '  -h, --help                   Show this help',
    '',
    'Options of logcheck:',
    '  -c, --config CFG             logcheck.conf to read (default /etc/logcheck/logcheck.conf)',
    '  -d, --debug                  Say on stderr what is read and decided',
    '  -H, --hostname HOST          Host name in the subject',
    '  -l, --logfile LOG            Check only this file (the logfile lists are not read)',
    '  -L, --logfiles-list CFG      Logfile list (default /etc/logcheck/logcheck.logfiles)',
    '  -D, --logfiles-dir DIR       Directory of *.logfiles lists (default /etc/logcheck/logcheck.logfiles.d)',
    '  -m, --mail-to MAIL           Recipient (SENDMAILTO)',
    '  -o, --stdout                 Print the report instead of mailing it',
    '  -p, --paranoid               Report level paranoid',
    '  -r, --rules-dir DIR          Rule directory (RULEDIR, default /etc/logcheck)',
    '  -R, --reboot                 Prefix the subject with "Reboot: "',
    '  -s, --server                 Report level server',
    '  -S, --state-dir DIR          Offset directory (default /var/lib/logcheck)',
    '  -t, --test                   Leave every offset as it was',
    '  -T, --keep-temp              Accepted for compatibility (portsnare keeps no temporary files)',
    '  -u, --summary                Run SYSLOG_SUMMARY over each section',
    '  -v, --version                Print the version',
    '  -w, --workstation            Report level workstation',
    '      --allow-root             Run as root although logcheck would refuse',
    '  -h, --help                   Show this help',
    '',
    'Options of report:',
    '  -c, --config PATH            portsentry.conf to read (default /etc/portsentry/portsentry.conf; built-in defaults if absent)',
    '      --log FILE               Read this file whole instead of the logfile lists (repeatable); no offset moves',
    '      --since TIME             Lines from this time on (2025-11-22 10:00, 6h, 2d, today, yesterday) instead of offsets',
    '      --format FMT             text, html or json (default REPORT_FORMAT)',
    '      --stdout                 Print the digest instead of mailing it',
    '      --mail-to ADDR           Recipient instead of REPORT_MAIL_TO (repeatable)',
    '      --test                   Leave the offsets and the previous listing as they were',
    '  -h, --help                   Show this help',
  ].join('\n') + '\n';

const NAMES = [
  'run',
  'check-config',
  'replay',
  'status',
  'list',
  'block',
  'unblock',
  'flush',
  'logcheck',
  'report',
];

test('the table has every command, in usage order, and each is found by its name', () => {
  assert.deepEqual(
    COMMANDS.map((c) => c.name),
    NAMES,
  );
  assert.equal(DEFAULT_COMMAND.name, 'run');
  for (const name of NAMES) assert.equal(findCommand(name)?.name, name, name);
  assert.equal(findCommand('start'), undefined);
  assert.equal(findCommand(undefined), undefined);
});

test('the parser hands each command line to the command it names; no name is run', () => {
  const args: Record<string, string[]> = {
    replay: ['x.pcap'],
    block: ['192.0.2.1'],
    unblock: ['192.0.2.0/24'],
  };
  for (const name of NAMES) {
    const parsed = parseCommandLine([name, ...(args[name] ?? [])]);
    assert.equal(parsed.command, findCommand(name), name);
    assert.equal(parsed.positional, args[name]?.[0], name);
  }
  assert.equal(parseCommandLine(['-tcp']).command.name, 'run');
  assert.equal(parseCommandLine([]).command.name, 'run');
});

test('the usage text is generated from the table and is exactly the documented text', () => {
  assert.equal(usage(), EXPECTED_USAGE);
  for (const command of COMMANDS) {
    assert.ok(usage().includes(`  ${synopsis(command).padEnd(22)} ${command.description}\n`), command.name);
    assert.ok(usage().includes(`\nOptions of ${command.name}:\n`), command.name);
  }
  assert.equal(synopsis(findCommand('replay') ?? DEFAULT_COMMAND), 'replay FILE.pcap');
});

test('dispatch: --help of every command prints the usage text and exits 0; --version too', async () => {
  for (const name of NAMES) {
    const out = collector();
    const err = collector();
    assert.equal(await dispatch([name, '--help'], { out, err }), ExitCodes.OK, name);
    assert.equal(out.text(), EXPECTED_USAGE, name);
    assert.equal(err.text(), '', name);
  }
  const out = collector();
  assert.equal(await dispatch(['-V'], { out, err: collector() }), ExitCodes.OK);
  assert.match(out.text(), /^portsnare \d+\.\d+\.\d+ \(PortSentry 1\.2 compatible\)\n$/);
});

test('dispatch: every mistake on the command line is a usage error (64) with the usage text', async () => {
  const cases: [string[], string][] = [
    [['-tpc'], "Unknown option '-t'"],
    [['status', '-tcp'], 'status takes no mode flag (-tcp)'],
    [['-tcp', '-atcp'], '-tcp and -atcp both watch TCP'],
    [['block'], 'block needs ADDR'],
    [['block', '192.0.2.1', '192.0.2.2'], 'block takes one ADDR'],
    [['replay'], 'replay needs FILE.pcap'],
    [['flush', 'now'], "Unexpected argument 'now'"],
    [['list', '--for', '1h'], "Unknown option '--for'"],
  ];
  for (const [argv, message] of cases) {
    const out = collector();
    const err = collector();
    assert.equal(await dispatch(argv, { out, err }), ExitCodes.USAGE, argv.join(' '));
    assert.ok(err.text().startsWith(`portsnare: ${message}`), err.text());
    assert.ok(err.text().endsWith(`\n\n${EXPECTED_USAGE}`), argv.join(' '));
    assert.equal(out.text(), '');
  }
});
