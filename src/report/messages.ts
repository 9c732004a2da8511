/**
 * @module report/messages
 * Every line portsnare logs, as a discriminated union on `kind`, and exactly one formatter per kind.
 * The PortSentry 1.2 texts are reproduced byte for byte (see shared/reference/portsentry.md §4.1),
 * including their quirks: the period in the classic "already blocked" line, the missing period in
 * "Attempting to continue", and the leading space of the NULL-scan label. Adding a kind without a
 * formatter does not compile.
 */
import { isClassic, type EvidenceKind, type Mode, type Protocol } from '../detect/probe.ts';

type Proto = Protocol;
const P = (p: Proto): string => p.toUpperCase();

export type LogMessage =
  // --- startup, configuration and shutdown ---
  | { kind: 'starting'; version: string }
  | { kind: 'configProblem'; severity: 'error' | 'warning'; where: string; text: string }
  | { kind: 'portsMissing'; protocol: Proto }
  | { kind: 'noPorts'; protocol: Proto }
  | { kind: 'listen'; protocol: Proto; port: number }
  | { kind: 'bindFailed'; protocol: Proto; port: number }
  | { kind: 'bindFailedFamily'; protocol: Proto; family: 4 | 6; port: number; reason: string }
  | { kind: 'ipv6Unavailable'; protocol: Proto; reason: string }
  | { kind: 'bindNone'; protocol: Proto }
  | { kind: 'active' }
  | { kind: 'reloaded'; configPath: string; ignoreEntries: number; localAddresses: number }
  | { kind: 'reloadFailed'; reason: string }
  | { kind: 'internalError'; reason: string }
  | { kind: 'reloadNeedsRestart'; key: string }
  | { kind: 'shuttingDownSecurity' }
  | { kind: 'shuttingDownAdmin' }
  // --- files ---
  | { kind: 'blockedFileOpenFailed'; path: string }
  | { kind: 'historyFileOpenFailed'; path: string }
  | { kind: 'blockedFileDeleteFailed'; path: string }
  | { kind: 'fileWriteFailed'; path: string; reason: string }
  // --- detection ---
  | { kind: 'connect'; protocol: Proto; host: string; address: string; port: number }
  | { kind: 'acceptFailed'; port: number }
  | { kind: 'stealthScan'; protocol: Proto; label: string; host: string; address: string; port: number }
  | { kind: 'ipOptions'; protocol: Proto; host: string; address: string; port: number }
  | { kind: 'illegalHeaderLength'; protocol: Proto; ihl: number; address: string }
  | { kind: 'stealthListen'; protocol: Proto; port: number }
  | { kind: 'socketInUse'; port: number }
  | { kind: 'allSocketsInUse'; protocol: Proto }
  | { kind: 'advancedMonitor'; ports: number }
  | { kind: 'advancedExclude'; port: number }
  | { kind: 'advancedExcludeNone' }
  | { kind: 'advancedIgnored'; protocol: Proto; port: number }
  | { kind: 'captureOpened'; device: string; filter: string }
  | { kind: 'captureFailed'; reason: string }
  | { kind: 'captureDrops'; dropped: number; received: number; malformed: number }
  | { kind: 'counters'; counters: Record<string, number> }
  | {
      kind: 'forgedEvidence';
      seconds: number;
      probes: number;
      sourcesPerSecond: number;
      ratePerSecond: number;
      /** ln A of the sequential test. */
      bar: number;
      passed: number;
      capped: number;
    }
  | { kind: 'blockCapReached'; limit: number; evidence: EvidenceKind }
  | { kind: 'blockCapSummary'; limit: number; evidence: EvidenceKind; suppressed: number }
  | { kind: 'sensorError'; protocol: Proto; port: number; reason: string }
  // --- response ---
  | { kind: 'alreadyBlocked'; mode: Mode; host: string; address: string }
  | { kind: 'ignoringResponse'; protocol: Proto }
  | { kind: 'blockedWrappers'; address: string; line: string }
  | { kind: 'blockedRoute'; address: string; command: string }
  | { kind: 'externalCommand'; address: string; command: string }
  | { kind: 'couldNotBlock'; mode: Mode; host: string; address: string }
  | { kind: 'blockError'; address: string }
  | { kind: 'runCommandError'; address: string }
  | { kind: 'hostsDenyOpenFailed'; path: string }
  | { kind: 'hostsDenyBlockError'; address: string }
  | { kind: 'actionFailedDetail'; key: string; address: string; reason: string }
  // --- bans (portsnare) ---
  | { kind: 'blockedNft'; address: string; set: string; seconds: number | null }
  | { kind: 'refusedBlock'; address: string; reason: string; intervalSeconds: number }
  | { kind: 'blockBackend'; backends: string; setting: string; why: string }
  | { kind: 'banLifted'; address: string; reason: 'expired' | 'unblocked' | 'flushed'; backends: string }
  | { kind: 'bansLiftedMore'; count: number; reason: 'expired' | 'unblocked' | 'flushed' }
  | { kind: 'unblockFailed'; address: string; backend: string; reason: string }
  | { kind: 'manualBlock'; address: string; seconds: number | null }
  | { kind: 'bansRestored'; count: number; dir: string; ms: number; routesRerun: boolean }
  | { kind: 'banStoreProblem'; dir: string; text: string }
  | { kind: 'banRefused'; address: string; reason: string; backends: string; at: 'restore' | 'reload' }
  | { kind: 'bansRefusedMore'; count: number; at: 'restore' | 'reload' }
  | { kind: 'historyRepaired'; count: number; path: string }
  | { kind: 'syslogDropped'; count: number }
  | { kind: 'banStoreLost'; dir: string; text: string }
  | { kind: 'nftTablePutBack'; table: string; bans: number }
  | { kind: 'nftError'; reason: string }
  | { kind: 'addressesChanged'; own: number; protectedHosts: number }
  | { kind: 'controlListening'; path: string }
  | { kind: 'controlError'; reason: string }
  // --- the immediate alert mail (REPORT_ALERT_MAIL) ---
  | { kind: 'alertMailSent'; address: string; to: string; earlier: number }
  | { kind: 'alertMailDeferred'; address: string; intervalSeconds: number; until: string }
  | { kind: 'alertMailFailed'; address: string; reason: string; intervalSeconds: number }
  | { kind: 'alertMailState'; path: string; text: string };

export type LogKind = LogMessage['kind'];

const LIFT_REASON = {
  expired: 'ban expired',
  unblocked: 'unblocked on request',
  flushed: 'all bans flushed',
} as const;

/** What each evidence kind is, in the MAX_BLOCKS_PER_MINUTE lines (each kind has its own budget). */
const EVIDENCE = {
  handshake: 'handshake evidence (completed TCP connections)',
  datagram: 'datagram evidence (forgeable source addresses)',
  packet: 'packet evidence (forgeable source addresses)',
} as const satisfies Record<EvidenceKind, string>;

/** Said after a forgeable kind's cap: the real connect scanners are still blocked. */
const OWN_BUDGET = (e: EvidenceKind): string =>
  e === 'handshake' ? '' : '; handshake evidence keeps its own budget';

type Formatters = { [K in LogKind]: (m: Extract<LogMessage, { kind: K }>) => string };

const formatters: Formatters = {
  starting: (m) => `adminalert: PortSentry ${m.version} is starting.`,
  configProblem: (m) => `adminalert: ${m.severity === 'error' ? 'ERROR' : 'WARNING'}: ${m.where}: ${m.text}`,
  portsMissing: (m) => `adminalert: ERROR: Could not read ${P(m.protocol)}_PORTS option from config file`,
  noPorts: (m) => `adminalert: ERROR: No ${P(m.protocol)} ports supplied in config file. Aborting`,
  listen: (m) => `adminalert: Going into listen mode on ${P(m.protocol)} port: ${m.port}`,
  bindFailed: (m) =>
    `adminalert: ERROR: could not bind ${P(m.protocol)} socket: ${m.port}. Attempting to continue`,
  bindFailedFamily: (m) =>
    `adminalert: ERROR: could not bind IPv${m.family} ${P(m.protocol)} socket: ${m.port} (${m.reason}). Attempting to continue`,
  ipv6Unavailable: (m) =>
    `adminalert: WARNING: IPv6 ${P(m.protocol)} traps unavailable (${m.reason}); watching IPv4 only`,
  bindNone: (m) => `adminalert: ERROR: could not bind ANY ${P(m.protocol)} sockets. Shutting down.`,
  active: () => 'adminalert: PortSentry is now active and listening.',
  reloaded: (m) =>
    `adminalert: Reloaded configuration from ${m.configPath}: ${m.ignoreEntries} ignore entries, ${m.localAddresses} local addresses.`,
  reloadFailed: (m) => `adminalert: ERROR: Reload failed, keeping the previous configuration: ${m.reason}`,
  internalError: (m) => `adminalert: ERROR: internal error: ${m.reason}. Shutting down.`,
  reloadNeedsRestart: (m) => `adminalert: WARNING: ${m.key} changed; the new value takes effect on restart.`,
  shuttingDownSecurity: () => 'securityalert: PortSentry is shutting down',
  shuttingDownAdmin: () => 'adminalert: PortSentry is shutting down',
  blockedFileOpenFailed: (m) => `adminalert: ERROR: Cannot open blocked file: ${m.path}.`,
  historyFileOpenFailed: (m) => `adminalert: ERROR: Cannot open history file: ${m.path}.`,
  blockedFileDeleteFailed: (m) => `adminalert: ERROR: Cannot delete blocked file on startup: ${m.path}.`,
  fileWriteFailed: (m) => `adminalert: ERROR: Cannot write ${m.path}: ${m.reason}`,
  connect: (m) =>
    `attackalert: Connect from host: ${m.host}/${m.address} to ${P(m.protocol)} port: ${m.port}`,
  acceptFailed: (m) =>
    `attackalert: Possible stealth scan from unknown host to TCP port: ${m.port} (accept failed)`,
  stealthScan: (m) =>
    `attackalert: ${m.protocol === 'udp' ? 'UDP scan' : m.label} from host: ${m.host}/${m.address} to ${P(m.protocol)} port: ${m.port}`,
  ipOptions: (m) =>
    `attackalert: Packet from host: ${m.host}/${m.address} to ${P(m.protocol)} port: ${m.port} has IP options set (detection avoidance technique).`,
  illegalHeaderLength: (m) =>
    `attackalert: Illegal IP header length detected in ${P(m.protocol)} packet: ${m.ihl} from (possible) host: ${m.address}`,
  stealthListen: (m) => `adminalert: Going into stealth listen mode on ${P(m.protocol)} port: ${m.port}`,
  socketInUse: (m) =>
    `adminalert: ERROR: Socket ${m.port} is in use and will not be monitored. Attempting to continue`,
  allSocketsInUse: (m) =>
    `adminalert: ERROR: All supplied ${P(m.protocol)} sockets are in use and will not be listened to. Shutting down.`,
  advancedMonitor: (m) => `adminalert: Advanced mode will monitor first ${m.ports} ports`,
  advancedExclude: (m) => `adminalert: Advanced mode will manually exclude port: ${m.port} `,
  advancedExcludeNone: () => 'adminalert: Advanced mode will manually exclude no ports',
  advancedIgnored: (m) =>
    `adminalert: Advanced Stealth scan detection mode activated. Ignored ${P(m.protocol)} port: ${m.port}`,
  captureOpened: (m) => `adminalert: Capturing on ${m.device} with filter: ${m.filter}`,
  captureFailed: (m) => `adminalert: ERROR: could not open packet capture: ${m.reason}. Shutting down.`,
  captureDrops: (m) =>
    `adminalert: WARNING: packet capture dropped ${m.dropped} of ${m.received} packets; ${m.malformed} malformed packets skipped`,
  forgedEvidence: (m) =>
    `attackalert: Forged packet evidence at scale: ${m.probes} probes to trap ports in the last ${m.seconds} s from about ${m.sourcesPerSecond} source addresses a second (background ${m.ratePerSecond.toFixed(2)} new-port probes/s per source); packet evidence now needs a likelihood ratio of ${m.bar >= 23 ? Math.exp(m.bar).toExponential(1) : Math.round(Math.exp(m.bar))}, ${m.passed} probe(s) passed it, ${m.capped} host(s) left unbanned by MAX_BLOCKS_PER_MINUTE; handshake evidence keeps its own budget`,
  blockCapReached: (m) =>
    `adminalert: WARNING: MAX_BLOCKS_PER_MINUTE (${m.limit}) reached for ${EVIDENCE[m.evidence]}: hosts are still logged but no more are blocked this minute${OWN_BUDGET(m.evidence)}`,
  blockCapSummary: (m) =>
    `adminalert: WARNING: MAX_BLOCKS_PER_MINUTE (${m.limit}) for ${EVIDENCE[m.evidence]}: ${m.suppressed} block(s) refused in the last minute`,
  counters: (m) =>
    `adminalert: Counters: ${Object.entries(m.counters)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  sensorError: (m) => `adminalert: ERROR: ${P(m.protocol)} trap on port ${m.port}: ${m.reason}`,
  // 1.2's classic modes name the IP with a period; its stealth modes name H/IP without one.
  alreadyBlocked: (m) =>
    isClassic(m.mode)
      ? `attackalert: Host: ${m.address} is already blocked. Ignoring`
      : `attackalert: Host: ${m.host}/${m.address} is already blocked Ignoring`,
  ignoringResponse: (m) => `attackalert: Ignoring ${P(m.protocol)} response per configuration file setting.`,
  blockedWrappers: (m) =>
    `attackalert: Host ${m.address} has been blocked via wrappers with string: "${m.line}"`,
  blockedRoute: (m) =>
    `attackalert: Host ${m.address} has been blocked via dropped route using command: "${m.command}"`,
  externalCommand: (m) =>
    `attackalert: External command run for host: ${m.address} using command: "${m.command}"`,
  // Three spellings in 1.2: IP (classic), H/IP with a space (-stcp), H/IP without (-atcp, -sudp, -audp).
  couldNotBlock: (m) =>
    isClassic(m.mode)
      ? `attackalert: ERROR: Could not block host ${m.address} !!`
      : m.mode === 'stcp'
        ? `attackalert: ERROR: Could not block host ${m.host}/${m.address} !!`
        : `attackalert: ERROR: Could not block host ${m.host}/${m.address}!!`,
  blockError: (m) => `adminalert: ERROR: There was an error trying to block host (exec fail) ${m.address}`,
  runCommandError: (m) =>
    `adminalert: ERROR: There was an error trying to run command (exec fail) ${m.address}`,
  hostsDenyOpenFailed: (m) => `adminalert: cannot open hosts.deny file: ${m.path} for blocking.`,
  hostsDenyBlockError: (m) => `securityalert: ERROR: There was an error trying to block host ${m.address}`,
  actionFailedDetail: (m) => `adminalert: ERROR: ${m.key} for host ${m.address} failed: ${m.reason}`,
  blockedNft: (m) =>
    `attackalert: Host ${m.address} has been blocked via nftables set: ${m.set} ${m.seconds === null ? 'until unblocked' : `for ${m.seconds} s`}`,
  refusedBlock: (m) =>
    `attackalert: Not blocking host ${m.address}: ${m.reason} (said once per ${m.intervalSeconds} s per host)`,
  blockBackend: (m) =>
    `adminalert: Blocking with ${m.backends} (BLOCK_BACKEND=${m.setting})${m.why ? `: ${m.why}` : ''}`,
  banLifted: (m) =>
    `attackalert: Host ${m.address} has been unblocked (${LIFT_REASON[m.reason]}): ${m.backends || 'nothing to undo'}`,
  bansLiftedMore: (m) =>
    `attackalert: ${m.count} more host(s) have been unblocked (${LIFT_REASON[m.reason]})`,
  unblockFailed: (m) =>
    `adminalert: ERROR: could not unblock host ${m.address} from ${m.backend}: ${m.reason}`,
  manualBlock: (m) =>
    `attackalert: Host ${m.address} blocked on request ${m.seconds === null ? 'until unblocked' : `for ${m.seconds} s`}`,
  bansRestored: (m) =>
    `adminalert: Restored ${m.count} ban(s) from ${m.dir} in ${m.ms} ms${m.routesRerun ? '; the host rebooted, so KILL_ROUTE was run again for them' : ''}`,
  banStoreProblem: (m) => `adminalert: WARNING: ban store ${m.dir}: ${m.text}`,
  banRefused: (m) =>
    m.at === 'restore'
      ? `adminalert: Not restoring the ban of host ${m.address}: ${m.reason}; lifted from: ${m.backends || 'nothing to undo'}`
      : `attackalert: Host ${m.address} has been unblocked (${m.reason}): ${m.backends || 'nothing to undo'}`,
  bansRefusedMore: (m) =>
    m.at === 'restore'
      ? `adminalert: ${m.count} more stored ban(s) not restored: their hosts are never blocked`
      : `attackalert: ${m.count} more host(s) have been unblocked: they are never blocked`,
  historyRepaired: (m) =>
    `adminalert: Wrote the missing history line(s) of ${m.count} ban(s) a crash cut off to ${m.path}`,
  syslogDropped: (m) =>
    `adminalert: WARNING: ${m.count} syslog line(s) were dropped (socket full or missing)`,
  banStoreLost: (m) => `adminalert: ERROR: ban store ${m.dir}: ${m.text}`,
  nftTablePutBack: (m) =>
    `adminalert: WARNING: nftables table inet ${m.table} had been removed; put it back with ${m.bans} ban(s)`,
  nftError: (m) => `adminalert: ERROR: nftables: ${m.reason}`,
  addressesChanged: (m) =>
    `adminalert: Local addresses changed: ${m.own} own addresses and ${m.protectedHosts} gateways/resolvers are never blocked`,
  controlListening: (m) => `adminalert: Control socket listening on ${m.path}`,
  controlError: (m) => `adminalert: ERROR: control socket: ${m.reason}`,
  // No " for host " in these: the digest reads that as a failed response against the host.
  alertMailSent: (m) =>
    `adminalert: Alert mail sent to ${m.to}: ${m.address} blocked${m.earlier > 0 ? ` (and ${m.earlier} earlier block(s) left to the digest)` : ''}`,
  alertMailDeferred: (m) =>
    `adminalert: Alert mail deferred: ${m.address} blocked; at most one alert mail per ${m.intervalSeconds} s, so blocks until ${m.until} go into the next digest (said once per interval)`,
  alertMailFailed: (m) =>
    `adminalert: ERROR: alert mail about ${m.address} not sent: ${m.reason}; the next one is tried after ${m.intervalSeconds} s, the digest has the blocks`,
  alertMailState: (m) => `adminalert: WARNING: alert mail state ${m.path}: ${m.text}`,
};

/** The syslog message text (after `ident[pid]: `) of a log message. */
export function formatMessage(m: LogMessage): string {
  const format = formatters[m.kind] as (m: LogMessage) => string;
  return format(m);
}
