/**
 * @module errors
 * The one error tree of portsnare. Every failure portsnare reports on purpose is a PortsnareError
 * with a stable `code`, one code per condition, so callers and tests branch on codes, never on
 * message text. Add a code here before throwing a new kind of failure; never throw a plain Error.
 */

export const ErrorCodes = {
  /** A config, ignore or defaults file is wrong (file, line and key in the message). */
  CONFIG: 'PSN_ERR_CONFIG',
  /** The command line is wrong. */
  USAGE: 'PSN_ERR_USAGE',
  /** The native addon (libpcap, raw sockets) is not built. */
  NATIVE_MISSING: 'PSN_NATIVE_MISSING',
  /** Not a canonical unicast address or prefix where one is required. */
  INVALID_ADDRESS: 'PSN_ERR_INVALID_ADDRESS',
  /** A KILL_* / UNKILL_* command template cannot be expanded. */
  TEMPLATE: 'PSN_ERR_TEMPLATE',
  /** An external command (nft, KILL_ROUTE, KILL_RUN_CMD) failed or could not be run. */
  COMMAND_FAILED: 'PSN_ERR_COMMAND_FAILED',
  /** A file or directory portsnare owns could not be read, written or created. */
  FILE: 'PSN_ERR_FILE',
  /** The control socket or a state file is root's. */
  PERMISSION: 'PSN_ERR_PERMISSION',
  /** No trap port of a protocol could be bound (all in use, or none configured). */
  NO_TRAP_PORT: 'PSN_ERR_NO_TRAP_PORT',
  /** A packet capture could not be opened or failed while running. */
  CAPTURE: 'PSN_ERR_CAPTURE',
  /** A request reached the daemon before it finished starting. */
  STARTING: 'PSN_ERR_STARTING',
  /** Another portsnare already runs on this state directory. */
  ALREADY_RUNNING: 'PSN_ERR_ALREADY_RUNNING',
  /** No daemon answers on the control socket. */
  NOT_RUNNING: 'PSN_ERR_NOT_RUNNING',
  /** A daemon runs (its pid is alive) but does not answer on its socket. */
  NOT_ANSWERING: 'PSN_ERR_NOT_ANSWERING',
  /** The control protocol was broken: a reply too long, not JSON, or of the wrong shape. */
  PROTOCOL: 'PSN_ERR_PROTOCOL',
  /** A block backend the request needs is not in use or cannot do it (BLOCK_BACKEND, empty template). */
  BACKEND_UNAVAILABLE: 'PSN_ERR_BACKEND_UNAVAILABLE',
  /** Output of an external program (nft -j) that portsnare cannot read. */
  UNEXPECTED_OUTPUT: 'PSN_ERR_UNEXPECTED_OUTPUT',
  /** A capture file that is not classic pcap, or is cut short. */
  PCAP_FORMAT: 'PSN_ERR_PCAP_FORMAT',
  /** The ban store was used after close. */
  STORE_CLOSED: 'PSN_ERR_STORE_CLOSED',
  /** A reverse lookup took longer than allowed. */
  RESOLVE_TIMEOUT: 'PSN_ERR_RESOLVE_TIMEOUT',
  /** A path is of the wrong type: a FIFO, device or directory where a regular file belongs, etc. */
  FILE_TYPE: 'PSN_ERR_FILE_TYPE',
  /** A file to read is larger than portsnare reads for its kind (config, ignore list). */
  FILE_TOO_LARGE: 'PSN_ERR_FILE_TOO_LARGE',
  /** STATE_DIR or a parent is writable by, or owned by, someone else; or a symlink was planted. */
  UNSAFE_PATH: 'PSN_ERR_UNSAFE_PATH',
  /** A logcheck rule (GNU ERE) that grep -E would refuse. */
  RULE_SYNTAX: 'PSN_ERR_RULE_SYNTAX',
  /** A logcheck rule file that cannot be read or holds a rule that does not compile (file, line). */
  RULE_FILE: 'PSN_ERR_RULE_FILE',
  /** The local sendmail program could not be run, or refused the message (non-zero exit). */
  SENDMAIL_FAILED: 'PSN_ERR_SENDMAIL_FAILED',
  /** A logtail2 offset file (or portsnare's record beside it) that cannot be parsed. */
  LOG_OFFSET: 'PSN_ERR_LOG_OFFSET',
  /** Mail delivery (src/mail): the SMTP server could not be reached. */
  MAIL_CONNECT: 'PSN_ERR_MAIL_CONNECT',
  /** Mail delivery: connecting, the greeting or a reply took too long. */
  MAIL_TIMEOUT: 'PSN_ERR_MAIL_TIMEOUT',
  /** Mail delivery: TLS required and not offered, or the handshake or certificate failed. */
  MAIL_TLS: 'PSN_ERR_MAIL_TLS',
  /** Mail delivery: authentication refused or required. */
  MAIL_AUTH: 'PSN_ERR_MAIL_AUTH',
  /** Mail delivery: a recipient or the message was refused. */
  MAIL_REJECTED: 'PSN_ERR_MAIL_REJECTED',
  /** Mail delivery: the server said something the client could not follow. */
  MAIL_PROTOCOL: 'PSN_ERR_MAIL_PROTOCOL',
  /** Mail delivery: the sendmail program failed (exit status, signal, or it could not be run). */
  MAIL_SENDMAIL: 'PSN_ERR_MAIL_SENDMAIL',
  /** Mail delivery: the mail itself is wrong (an address, a header). */
  MAIL_INVALID: 'PSN_ERR_MAIL_INVALID',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class PortsnareError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PortsnareError';
    this.code = code;
  }
}

/** True when `err` is a PortsnareError with this code. */
export function hasCode(err: unknown, code: ErrorCode): err is PortsnareError {
  return err instanceof PortsnareError && err.code === code;
}

/** Wraps any thrown value as an Error (for rejecting promises with what a callback gave). */
export function asError(err: unknown, code: ErrorCode): Error {
  return err instanceof Error ? err : new PortsnareError(code, String(err));
}

/** The errno-style code of a Node system error (`ENOENT`, `EACCES`...), or undefined. */
export function systemErrorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return undefined;
}

/** A one-line description of any thrown value, for log lines. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err);
}
