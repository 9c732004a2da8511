/**
 * @module digest/attacker-lines
 * The recognisers behind the digest's attackers table: what one PortSentry 1.2 / portsnare, sshd or
 * kernel firewall message says about a source address, as a small event. Pure and stateless; the
 * table (digest/attackers) decides what the events add up to. Each recogniser dispatches on a fixed
 * prefix or the first character before it runs any regex, so the cost of an unrelated message is a
 * few character comparisons. The PortSentry texts are the ones report/messages formats.
 */
import { canonicalAddress } from '../net/address.ts';

export type AttackerEvidence = 'connect' | 'scan' | 'ipOptions' | 'sshd' | 'firewall';
export type Protocol = 'tcp' | 'udp';

/** What a PortSentry or portsnare line says. `host` is the raw `H/IP`, `IP/H` or `IP` field. */
export type SentryEvent =
  | {
      readonly t: 'probe';
      readonly evidence: AttackerEvidence;
      readonly kind: string;
      readonly host: string;
      readonly protocol: Protocol;
      /** Null for a header-length anomaly, which names no port. */
      readonly port: number | null;
    }
  | { readonly t: 'repeat'; readonly host: string }
  /** `seconds` null: until unblocked (1.2's wrappers and routes are never lifted by the daemon). */
  | { readonly t: 'block'; readonly host: string; readonly via: string; readonly seconds: number | null }
  | { readonly t: 'lift'; readonly host: string; readonly refusal: string | null }
  | { readonly t: 'refusal'; readonly host: string; readonly reason: string }
  /** 1.2 names no host in this line: it belongs to the probe the same process logged just before. */
  | { readonly t: 'ignoredResponse'; readonly protocol: Protocol };

const proto = (p: string): Protocol => (p === 'UDP' ? 'udp' : 'tcp');

const CONNECT = /^Connect from host: (.+) to (TCP|UDP) port: (\d+)$/;
// Every stealth label: `TCP SYN/Normal scan`, ` TCP NULL scan` (1.2's leading space), `UDP scan`,
// `Unknown Type: TCP Packet Flags: SYN: 1 FIN: 1 ...`.
const SCAN = /^ ?(.+?) from host: (.+) to (TCP|UDP) port: (\d+)$/;
const UNKNOWN_FLAGS = /(SYN|FIN|ACK|PSH|URG|RST): 1/g;
const IP_OPTIONS =
  /^Packet from host: (.+) to (TCP|UDP) port: (\d+) has IP options set \(detection avoidance technique\)\.$/;
const ILLEGAL_IHL =
  /^Illegal IP header length detected in (TCP|UDP) packet: \d+ from \(possible\) host: (\S+)$/;
const IGNORING = /^Ignoring (TCP|UDP) response per configuration file setting\.$/;
// Classic modes: `Host: IP is already blocked. Ignoring`; stealth modes: `Host: H/IP is already blocked Ignoring`.
const ALREADY = /^Host: (\S+) is already blocked\.? Ignoring$/;
const BLOCKED_VIA = /^Host (\S+) has been blocked via (wrappers with string|dropped route using command): /;
const BLOCKED_NFT = /^Host (\S+) has been blocked via nftables set: \S+ (?:for (\d+) s|until unblocked)$/;
const MANUAL = /^Host (\S+) blocked on request (?:for (\d+) s|until unblocked)$/;
// banLifted, and banRefused at a reload (the host became one that is never blocked).
const UNBLOCKED = /^Host (\S+) has been unblocked \(/;
const EXTERNAL = /^External command run for host: (\S+) using command: /;
// Three 1.2 spellings: `host IP !!`, `host H/IP !!`, `host H/IP!!`.
const COULD_NOT = /^ERROR: Could not block host (\S+?) ?!!$/;
const NOT_BLOCKING = /^Not blocking host (\S+): (.*) \(said once per \d+ s per host\)$/;
const EXEC_BLOCK = /^ERROR: There was an error trying to block host \(exec fail\) (\S+)$/;
const EXEC_COMMAND = /^ERROR: There was an error trying to run command \(exec fail\) (\S+)$/;
const HOSTS_DENY = /^ERROR: There was an error trying to block host (\S+)$/;
const ACTION_FAILED = /^ERROR: (\S+) for host (\S+) failed: (.*)$/;
const NOT_RESTORING = /^Not restoring the ban of host (\S+): (.*); lifted from: /;

function scanKind(label: string): string | null {
  if (label.endsWith(' scan')) return label;
  if (label.startsWith('Unknown Type: TCP Packet Flags: ')) {
    const set = Array.from(label.matchAll(UNKNOWN_FLAGS), (m) => m[1]).join(' ');
    return `TCP unknown-flags scan (${set || 'none'})`;
  }
  return null;
}

/** An `attackalert:` text (without the prefix). */
function attackAlert(body: string): SentryEvent | null {
  let m: RegExpExecArray | null;
  switch (body.charCodeAt(0)) {
    case 67 /* C */:
      if ((m = CONNECT.exec(body))) {
        const protocol = proto(m[2]!);
        return {
          t: 'probe',
          evidence: 'connect',
          kind: `${m[2]} connect`,
          host: m[1]!,
          protocol,
          port: +m[3]!,
        };
      }
      return null;
    case 72 /* H */:
      if (body.startsWith('Host: ')) {
        m = ALREADY.exec(body);
        return m ? { t: 'repeat', host: m[1]! } : null;
      }
      if ((m = BLOCKED_VIA.exec(body)))
        return { t: 'block', host: m[1]!, via: m[2]!.startsWith('w') ? 'wrappers' : 'route', seconds: null };
      if ((m = BLOCKED_NFT.exec(body)))
        return { t: 'block', host: m[1]!, via: 'nftables', seconds: m[2] === undefined ? null : +m[2] };
      if ((m = MANUAL.exec(body)))
        return { t: 'block', host: m[1]!, via: 'manual', seconds: m[2] === undefined ? null : +m[2] };
      if ((m = UNBLOCKED.exec(body))) return { t: 'lift', host: m[1]!, refusal: null };
      return null;
    case 69 /* E */:
      if ((m = EXTERNAL.exec(body))) return { t: 'block', host: m[1]!, via: 'command', seconds: null };
      if ((m = COULD_NOT.exec(body))) return { t: 'refusal', host: m[1]!, reason: 'could not block' };
      return null;
    case 80 /* P */:
      if ((m = IP_OPTIONS.exec(body))) {
        const kind = `${m[2]} IP options`;
        return { t: 'probe', evidence: 'ipOptions', kind, host: m[1]!, protocol: proto(m[2]!), port: +m[3]! };
      }
      // `Possible stealth scan from unknown host` names no source.
      return null;
    case 73 /* I */:
      if ((m = ILLEGAL_IHL.exec(body))) {
        const kind = `${m[1]} illegal IP header length`;
        return { t: 'probe', evidence: 'ipOptions', kind, host: m[2]!, protocol: proto(m[1]!), port: null };
      }
      if ((m = IGNORING.exec(body))) return { t: 'ignoredResponse', protocol: proto(m[1]!) };
      return null;
    case 78 /* N */:
      if ((m = NOT_BLOCKING.exec(body))) return { t: 'refusal', host: m[1]!, reason: m[2]! };
      return null;
    case 70 /* F: forged evidence at scale, no one source */:
      return null;
    default:
      if (body.indexOf(' from host: ') < 0) return null;
      if ((m = SCAN.exec(body))) {
        const kind = scanKind(m[1]!);
        if (kind === null) return null;
        return { t: 'probe', evidence: 'scan', kind, host: m[2]!, protocol: proto(m[3]!), port: +m[4]! };
      }
      return null;
  }
}

/** The `adminalert:` / `securityalert:` texts that name a host: failed responses and refused restores. */
function adminAlert(body: string): SentryEvent | null {
  let m: RegExpExecArray | null;
  if (body.startsWith('ERROR: There was an error trying to ')) {
    if ((m = EXEC_BLOCK.exec(body)))
      return { t: 'refusal', host: m[1]!, reason: 'block command failed (exec fail)' };
    if ((m = EXEC_COMMAND.exec(body)))
      return { t: 'refusal', host: m[1]!, reason: 'external command failed (exec fail)' };
    if ((m = HOSTS_DENY.exec(body)))
      return { t: 'refusal', host: m[1]!, reason: 'hosts.deny could not be written' };
    return null;
  }
  if (body.startsWith('ERROR: ') && body.includes(' for host ')) {
    if ((m = ACTION_FAILED.exec(body)))
      return { t: 'refusal', host: m[2]!, reason: `${m[1]} failed: ${m[3]}` };
    return null;
  }
  if ((m = NOT_RESTORING.exec(body))) return { t: 'lift', host: m[1]!, refusal: `ban not restored: ${m[2]}` };
  return null;
}

/** A `portsentry`/`portsnare` message; null when it is about no one source (startup, listen, counters). */
export function sentryEvent(message: string): SentryEvent | null {
  if (message.startsWith('attackalert: ')) return attackAlert(message.slice(13));
  if (message.startsWith('adminalert: ERROR: ') || message.startsWith('adminalert: Not restoring '))
    return adminAlert(message.slice(12));
  if (message.startsWith('securityalert: ERROR: ')) return adminAlert(message.slice(15));
  return null;
}

/**
 * The source of a `H/IP` field, whichever side the address is on: 1.2 writes `name/IP`, but lines
 * with `IP/name` exist (the logcheck fixture has them), and an unresolved host is `IP/IP` or a bare
 * `IP`. The name is whatever the other side is when it is not an address itself.
 */
export function sourceOf(field: string): { address: string; name: string | null } | null {
  const slash = field.lastIndexOf('/');
  if (slash < 0) {
    const address = canonicalAddress(field);
    return address === null ? null : { address, name: null };
  }
  const right = canonicalAddress(field.slice(slash + 1));
  if (right !== null) {
    const left = field.slice(0, slash);
    return { address: right, name: left === '' || canonicalAddress(left) !== null ? null : left };
  }
  const first = field.indexOf('/');
  const left = canonicalAddress(field.slice(0, first));
  if (left === null) return null;
  const name = field.slice(first + 1);
  return { address: left, name: name === '' ? null : name };
}

/**
 * What an sshd line says. The unit counted is one authentication attempt, not one line: a failed
 * password leaves four or five lines, and each counts at most once.
 * - `attempt`: `Failed <method> for USER` (one per password, key or method tried), and `Invalid
 *   user` (the connection that names a user who does not exist, which may end before any password).
 * - `failedInvalid`: `Failed <method> for invalid user`; its connection's `Invalid user` line
 *   counted it already when the table saw that line, else it counts itself.
 * - `sibling`: a line that only restates a failure (PAM's `authentication failure` and `check pass;
 *   user unknown`, `maximum authentication attempts exceeded`, `Too many authentication failures`,
 *   `Connection closed by invalid user`): consumed, never counted.
 * - `weak`: a pre-auth disconnect naming no user, evidence only from a source already failing.
 */
export type SshEvent =
  | {
      readonly t: 'attempt' | 'failedInvalid';
      readonly kind: string;
      readonly address: string;
      readonly user: string;
    }
  | { readonly t: 'sibling'; readonly address: string | null; readonly user: string | null }
  | { readonly t: 'weak'; readonly address: string };

const FAILED = /^Failed (\S+) for (invalid user )?(.*) from (\S+) port \d+/;
const INVALID = /^Invalid user (.*) from (\S+?)(?: port \d+)?\s*$/;
const MAX_ATTEMPTS =
  /^(?:error: )?maximum authentication attempts exceeded for (?:invalid user )?(.*) from (\S+) port \d+/;
const USER_ADDRESS =
  /^(?:Disconnecting|Connection closed by|Connection reset by|Disconnected from) (?:invalid|authenticating) user (.*) (\S+) port \d+/;
const PAM_FAILURE = /^pam_unix\(sshd:auth\): authentication failure;.* rhost=(\S*)(?:\s+user=(\S+))?/;
const PAM_MORE = /^PAM \d+ more authentication failures?;.* rhost=(\S*)(?:\s+user=(\S+))?/;
const WEAK =
  /^(?:Connection closed by|Connection reset by|Received disconnect from|Disconnected from) (\S+) port \d+.*\[preauth\]$/;

export function sshEvent(message: string): SshEvent | null {
  let m: RegExpExecArray | null;
  switch (message.charCodeAt(0)) {
    case 70 /* F */: {
      if (!(m = FAILED.exec(message))) return null;
      const address = canonicalAddress(m[4]!);
      if (address === null) return null;
      const t = m[2] === undefined ? 'attempt' : 'failedInvalid';
      return { t, kind: `sshd failed ${m[1]}`, address, user: m[3]! };
    }
    case 73 /* I */: {
      if (!(m = INVALID.exec(message))) return null;
      const address = canonicalAddress(m[2]!);
      return address === null ? null : { t: 'attempt', kind: 'sshd invalid user', address, user: m[1]! };
    }
    case 101 /* e */:
    case 109 /* m */:
      if ((m = MAX_ATTEMPTS.exec(message)))
        return { t: 'sibling', address: canonicalAddress(m[2]!), user: m[1]! };
      return null;
    case 112 /* p */:
      if ((m = PAM_FAILURE.exec(message)))
        return { t: 'sibling', address: canonicalAddress(m[1]!), user: m[2] ?? null };
      // Said before the failure of a user who does not exist; names no address.
      if (message === 'pam_unix(sshd:auth): check pass; user unknown')
        return { t: 'sibling', address: null, user: null };
      return null;
    case 80 /* P */:
      if ((m = PAM_MORE.exec(message)))
        return { t: 'sibling', address: canonicalAddress(m[1]!), user: m[2] ?? null };
      return null;
    case 67 /* C */:
    case 68 /* D */:
    case 82 /* R */: {
      if ((m = USER_ADDRESS.exec(message)))
        return { t: 'sibling', address: canonicalAddress(m[2]!), user: m[1]! };
      if (!(m = WEAK.exec(message))) return null;
      const address = canonicalAddress(m[1]!);
      return address === null ? null : { t: 'weak', address };
    }
    default:
      return null;
  }
}

/** A netfilter LOG line (iptables or nftables, any prefix): one dropped packet. */
export interface FirewallEvent {
  readonly address: string;
  readonly protocol: Protocol | null;
  readonly port: number | null;
}

const FW_SRC = / SRC=(\S+)/;
const FW_PROTO = / PROTO=(\S+)/;
const FW_DPT = / DPT=(\d+)/;
// A LOG rule that records accepted traffic is no drop.
const FW_ACCEPTED = /ALLOW|ACCEPT|AUDIT/;

export function firewallEvent(message: string): FirewallEvent | null {
  const inAt = message.indexOf('IN=');
  if (inAt < 0 || message.indexOf(' SRC=', inAt) < 0) return null;
  // `IN=` empty: a packet this host sent, whose source is this host, not an attacker.
  if (message.charCodeAt(inAt + 3) === 32) return null;
  if (FW_ACCEPTED.test(message.slice(0, inAt))) return null;
  const src = FW_SRC.exec(message);
  const address = src ? canonicalAddress(src[1]!) : null;
  if (address === null) return null;
  const p = FW_PROTO.exec(message)?.[1];
  const protocol = p === 'TCP' ? 'tcp' : p === 'UDP' ? 'udp' : null;
  const dpt = protocol === null ? undefined : FW_DPT.exec(message)?.[1];
  return { address, protocol, port: dpt === undefined ? null : +dpt };
}
