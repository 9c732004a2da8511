/**
 * @module config/keys
 * Every configuration key portsnare understands: PortSentry 1.2's keys with Debian's shipped values as
 * the built-in defaults, plus the keys portsnare adds for what 1.2 hard-coded. This table drives the
 * reader, the validation (every numeric key has an inclusive `range`, and `range.why` is its one-line
 * documentation), `check-config` output and the documentation.
 */

export type KeyKind =
  | 'ports' // comma list of ports and a-b ranges
  | 'count' // non-negative integer
  | 'flag' // 0 / non-zero
  | 'block' // 0, 1 or 2
  | 'path' // absolute file path
  | 'template' // command or hosts.deny template with $TARGET$/$PORT$/$MODE$
  | 'text' // free text
  | 'choice'; // one of `choices`

export interface KeyDefinition {
  name: string;
  kind: KeyKind;
  /** Built-in default as it would be written in the file (Debian 12's portsentry.conf, or ours). */
  default: string;
  description: string;
  /** True for keys PortSentry 1.2 does not know. */
  portsnareOnly?: boolean;
  /** True when a SIGHUP cannot apply a change (the traps stay as they are). */
  needsRestart?: boolean;
  /** The allowed values of a 'choice' key. */
  choices?: readonly string[];
  /** Inclusive bounds of a numeric ('count', 'flag', 'block') key; every numeric key has one. */
  range?: KeyRange;
}

export interface KeyRange {
  min: number;
  max: number;
  /** One line: why these bounds (shown by check-config next to an out-of-range value). */
  why: string;
}

/** The longest ban nft accepts (seconds); BLOCK_TIME and `block --for` stay below it. */
export const MAX_BLOCK_TIME = 99_999_999;

export const KEY_DEFINITIONS: readonly KeyDefinition[] = [
  {
    name: 'TCP_PORTS',
    kind: 'ports',
    default:
      '1,11,15,79,111,119,143,540,635,1080,1524,2000,5742,6667,12345,12346,20034,27665,31337,32771,32772,32773,32774,40421,49724,54320',
    description: 'Ports watched by -tcp and -stcp',
    needsRestart: true,
  },
  {
    name: 'UDP_PORTS',
    kind: 'ports',
    default:
      '1,7,9,69,161,162,513,635,640,641,700,37444,34555,31335,32770,32771,32772,32773,32774,31337,54321',
    description: 'Ports watched by -udp and -sudp',
    needsRestart: true,
  },
  {
    name: 'ADVANCED_PORTS_TCP',
    kind: 'count',
    default: '1024',
    description: '-atcp watches ports below this',

    needsRestart: true,
    range: {
      min: 0,
      max: 65536,
      why: 'ports 0 to N-1 are watched, so 65536 covers every port; 0 watches none',
    },
  },
  {
    name: 'ADVANCED_PORTS_UDP',
    kind: 'count',
    default: '1024',
    description: '-audp watches ports below this',

    needsRestart: true,
    range: {
      min: 0,
      max: 65536,
      why: 'ports 0 to N-1 are watched, so 65536 covers every port; 0 watches none',
    },
  },
  {
    name: 'ADVANCED_EXCLUDE_TCP',
    kind: 'ports',
    default: '113,139',
    description: 'Ports -atcp never reacts to',

    needsRestart: true,
  },
  {
    name: 'ADVANCED_EXCLUDE_UDP',
    kind: 'ports',
    default: '520,138,137,67',
    description: 'Ports -audp never reacts to',

    needsRestart: true,
  },
  {
    name: 'IGNORE_FILE',
    kind: 'path',
    default: '/etc/portsentry/portsentry.ignore',
    description: 'Addresses and CIDR blocks never acted on',
  },
  {
    name: 'HISTORY_FILE',
    kind: 'path',
    default: '/var/lib/portsentry/portsentry.history',
    description: 'Every blocked host, appended forever (read by fail2ban)',
  },
  {
    name: 'BLOCKED_FILE',
    kind: 'path',
    default: '/var/lib/portsentry/portsentry.blocked',
    description: 'Base name of the per-mode blocked files (.tcp, .udp, ...)',

    needsRestart: true,
  },
  {
    name: 'RESOLVE_HOST',
    kind: 'flag',
    default: '0',
    description: 'Reverse-resolve attackers for the logs',
    range: { min: 0, max: 1, why: '0 or 1 (PortSentry 1.2 read any non-zero number as 1)' },
  },
  {
    name: 'BLOCK_UDP',
    kind: 'block',
    default: '0',
    description: '0 log only, 1 block, 2 run KILL_RUN_CMD only',
    range: { min: 0, max: 2, why: '0, 1 or 2 (PortSentry 1.2 silently did not block on other values)' },
  },
  {
    name: 'BLOCK_TCP',
    kind: 'block',
    default: '0',
    description: '0 log only, 1 block, 2 run KILL_RUN_CMD only',
    range: { min: 0, max: 2, why: '0, 1 or 2 (PortSentry 1.2 silently did not block on other values)' },
  },
  {
    name: 'KILL_ROUTE',
    kind: 'template',
    default: '/sbin/route add -host $TARGET$ reject',
    description: 'Command that drops the attacker (run without a shell)',
  },
  {
    name: 'KILL_HOSTS_DENY',
    kind: 'template',
    default: 'ALL: $TARGET$ : DENY',
    description: 'Line added to HOSTS_DENY_FILE',
  },
  { name: 'KILL_RUN_CMD', kind: 'template', default: '', description: 'Extra command run on a block' },
  {
    name: 'KILL_RUN_CMD_FIRST',
    kind: 'flag',
    default: '0',
    description: 'Non-zero: run KILL_RUN_CMD before the other actions',
    range: { min: 0, max: 1, why: '0 or 1 (PortSentry 1.2 read any non-zero number as 1)' },
  },
  {
    name: 'SCAN_TRIGGER',
    kind: 'count',
    default: '0',
    description: 'Hits from one host before it is acted on',
    range: {
      min: 0,
      max: 1000,
      why: 'hits counted per host; 1.2 fired on every hit above 50, more than 1000 would never fire in practice',
    },
  },
  { name: 'PORT_BANNER', kind: 'text', default: '', description: 'Text sent to classic-mode hits' },
  {
    name: 'INTERFACE',
    kind: 'text',
    default: '',
    description: 'Stealth/advanced modes: capture on this interface only (empty: all interfaces)',
    portsnareOnly: true,
    needsRestart: true,
  },
  {
    name: 'STEALTH_TRIGGER_PORTS',
    kind: 'count',
    default: '3',
    description:
      'Stealth/advanced modes: distinct ports a source must probe before it is acted on (1: first probe, as 1.2)',
    portsnareOnly: true,
    range: {
      min: 1,
      max: 64,
      why: 'at least 1 (the first probe); at most 64, since every tracked source keeps that many ports in a fixed-size table',
    },
  },
  {
    name: 'STEALTH_TRIGGER_WINDOW',
    kind: 'count',
    default: '10',
    description: 'Seconds within which STEALTH_TRIGGER_PORTS must be reached',
    portsnareOnly: true,
    range: { min: 1, max: 86400, why: 'seconds, at least 1 (0 would detect nothing) and at most a day' },
  },
  {
    name: 'SCAN_DETECTOR',
    kind: 'choice',
    choices: ['sequential', 'window'],
    default: 'sequential',
    description:
      'Stealth/advanced modes: how packet evidence is judged: sequential (a sequential test against the measured background, STEALTH_TRIGGER_PORTS in STEALTH_TRIGGER_WINDOW as a floor) or window (that fixed window alone)',
    portsnareOnly: true,
  },
  {
    name: 'SEQUENTIAL_FALSE_ALARMS',
    kind: 'count',
    default: '6',
    description:
      'Sequential test: false alarms per hour it allows under the measured background (its bar rises with the background to keep to it)',
    portsnareOnly: true,
    range: {
      min: 1,
      max: 3600,
      why: 'per hour, at least 1; above 3600 (one a second) the test no longer filters',
    },
  },
  {
    name: 'SEQUENTIAL_IDLE_RATE',
    kind: 'count',
    default: '60',
    description:
      'Sequential test: new-port probes per hour a background source may send when the network is quiet (the floor of the measured background)',
    portsnareOnly: true,
    range: { min: 1, max: 360000, why: 'per hour, at least 1; 360000 is 100 a second, faster than any scan' },
  },
  {
    name: 'SEQUENTIAL_IDLE_THRESHOLD',
    kind: 'count',
    default: '20',
    description:
      'Sequential test: the likelihood ratio a source must reach when the network is quiet (the floor of the bar)',
    portsnareOnly: true,
    range: { min: 2, max: 1000000000, why: 'at least 2 (1 would fire on any evidence)' },
  },
  {
    name: 'MAX_BLOCKS_PER_MINUTE',
    kind: 'count',
    default: '60',
    description:
      'New blocks allowed per minute, for each evidence kind on its own (handshake, datagram, packet); past it hosts are still logged but not blocked (0: no cap)',
    portsnareOnly: true,
    range: { min: 0, max: 100000, why: '0 means no cap; above 100000 a minute is no cap either' },
  },
  {
    name: 'BLOCK_BACKEND',
    kind: 'choice',
    choices: ['auto', 'nft', 'classic', 'both'],
    default: 'auto',
    description:
      'How BLOCK_x=1 blocks: nft (our own nftables sets), classic (KILL_HOSTS_DENY and KILL_ROUTE), both, or auto (nft where it works, else classic). KILL_RUN_CMD runs with every backend',
    portsnareOnly: true,
    needsRestart: true,
  },
  {
    name: 'BLOCK_TIME',
    kind: 'count',
    default: '0',
    description: 'Seconds a ban lasts; it is then lifted from every backend (0: until unblocked, as 1.2)',
    portsnareOnly: true,
    range: {
      min: 0,
      max: MAX_BLOCK_TIME,
      why: 'seconds, 0 until unblocked; nft accepts at most 99999999 s (3.17 years)',
    },
  },
  {
    name: 'UNKILL_ROUTE',
    kind: 'template',
    default: '',
    description:
      'Command that undoes KILL_ROUTE when a ban ends (same macros); empty: derived from KILL_ROUTE when it is a known route, iptables, ipset or nft command',
    portsnareOnly: true,
  },
  {
    name: 'MAX_TRACKED_SOURCES',
    kind: 'count',
    default: '65536',
    description:
      'Sources whose packet evidence is held at once, in a table allocated at start (56 bytes a source); the least recently seen of a full bucket are forgotten first',
    portsnareOnly: true,
    needsRestart: true,
    range: { min: 2, max: 16_777_216, why: 'at least 2; 16 Mi sources already cost several GB of memory' },
  },
  {
    name: 'HOSTS_DENY_FILE',
    kind: 'path',
    default: '/etc/hosts.deny',
    description: 'File KILL_HOSTS_DENY lines go to',
    portsnareOnly: true,
  },
  {
    name: 'SYSLOG_SOCKET',
    kind: 'path',
    default: '/dev/log',
    description: 'Unix datagram socket of the syslog daemon',
    portsnareOnly: true,
    needsRestart: true,
  },
  {
    name: 'SYSLOG_IDENT',
    kind: 'text',
    default: 'portsnare',
    description: 'Syslog tag; set "portsentry" to keep old log filters working',
    portsnareOnly: true,

    needsRestart: true,
  },
  {
    name: 'STATE_DIR',
    kind: 'path',
    default: '/var/lib/portsnare',
    description: 'Where the daemon keeps everything besides the classic files',
    portsnareOnly: true,
    needsRestart: true,
  },
  // `portsnare report` (digests) and the daemon's immediate alert mail.
  {
    name: 'REPORT_MAIL_TO',
    kind: 'text',
    default: 'root',
    description: 'Recipients of the digest and of alert mails, separated by commas or spaces',
    portsnareOnly: true,
  },
  {
    name: 'REPORT_MAIL_FROM',
    kind: 'text',
    default: '',
    description: 'Sender address (empty: portsnare@ this host name)',
    portsnareOnly: true,
  },
  {
    name: 'REPORT_DELIVERY',
    kind: 'choice',
    choices: ['sendmail', 'smtp'],
    default: 'sendmail',
    description: 'How mail leaves: the local sendmail program, as logcheck, or straight to REPORT_SMTP_URL',
    portsnareOnly: true,
  },
  {
    name: 'REPORT_SENDMAIL',
    kind: 'path',
    default: '/usr/sbin/sendmail',
    description: 'The sendmail program (run with an argument vector, the message on stdin)',
    portsnareOnly: true,
  },
  {
    name: 'REPORT_SMTP_URL',
    kind: 'text',
    default: '',
    description:
      'smtp://host[:port] (STARTTLS as REPORT_SMTP_STARTTLS) or smtps://host[:port] (TLS from the start)',
    portsnareOnly: true,
  },
  {
    name: 'REPORT_SMTP_STARTTLS',
    kind: 'choice',
    choices: ['require', 'opportunistic', 'never'],
    default: 'require',
    description: 'smtp:// only: require STARTTLS, use it when offered, or never',
    portsnareOnly: true,
  },
  {
    name: 'REPORT_SMTP_USER',
    kind: 'text',
    default: '',
    description: 'SMTP authentication user (empty: no authentication)',
    portsnareOnly: true,
  },
  {
    name: 'REPORT_SMTP_PASSWORD_FILE',
    kind: 'text',
    default: '',
    description:
      'Absolute path of a file holding the SMTP password (first line), readable by the report user only',
    portsnareOnly: true,
  },
  {
    name: 'REPORT_SMTP_TIMEOUT',
    kind: 'count',
    default: '30',
    description: 'Seconds to wait for the SMTP server at each step',
    portsnareOnly: true,
    range: { min: 1, max: 600, why: 'seconds; at least 1, at most 10 minutes' },
  },
  {
    name: 'REPORT_FORMAT',
    kind: 'choice',
    choices: ['text', 'html', 'json'],
    default: 'text',
    description: 'Digest format: text, html (multipart/alternative with the text part) or json',
    portsnareOnly: true,
  },
  {
    name: 'REPORT_LOGCHECK_CONF',
    kind: 'path',
    default: '/etc/logcheck/logcheck.conf',
    description: 'logcheck.conf whose logfile lists, RULEDIR and REPORTLEVEL the digest uses',
    portsnareOnly: true,
  },
  {
    name: 'REPORT_STATE_DIR',
    kind: 'path',
    default: '/var/lib/portsnare-report',
    description:
      "The digest's own offsets and what the previous digest listed (beside logcheck's, not shared)",
    portsnareOnly: true,
  },
  {
    name: 'REPORT_MAX_ATTACKERS',
    kind: 'count',
    default: '40',
    description: 'Attackers listed in full; the rest are counted in "... and N more"',
    portsnareOnly: true,
    range: { min: 1, max: 100000, why: 'at least one row' },
  },
  {
    name: 'REPORT_MAX_TEMPLATES',
    kind: 'count',
    default: '25',
    description: 'Line templates listed per section; the rest are counted in "... and N more"',
    portsnareOnly: true,
    range: { min: 1, max: 100000, why: 'at least one template a section' },
  },
  {
    name: 'REPORT_MAX_BYTES',
    kind: 'count',
    default: '100000',
    description: 'Upper bound of the digest text in bytes; sections are cut to fit, with "... and N more"',
    portsnareOnly: true,
    range: { min: 4096, max: 100_000_000, why: 'bytes; 4 KB holds the headings and the first rows' },
  },
  {
    name: 'REPORT_ATTACH_RAW',
    kind: 'flag',
    default: '0',
    description: 'Attach the raw lines the digest summarises as a gzip file',
    portsnareOnly: true,
    range: { min: 0, max: 1, why: '0 or 1' },
  },
  {
    name: 'REPORT_ALERT_MAIL',
    kind: 'flag',
    default: '0',
    description: 'The daemon mails a Security Alert at once when it blocks a host (rate-limited)',
    portsnareOnly: true,
    range: { min: 0, max: 1, why: '0 or 1' },
  },
  {
    name: 'REPORT_ALERT_INTERVAL',
    kind: 'count',
    default: '3600',
    description: 'At most one alert mail per this many seconds; blocks in between go into the next digest',
    portsnareOnly: true,
    range: { min: 60, max: 86400, why: 'seconds, at least a minute, at most a day' },
  },
];

export const KEYS_BY_NAME: ReadonlyMap<string, KeyDefinition> = new Map(
  KEY_DEFINITIONS.map((k) => [k.name, k]),
);
