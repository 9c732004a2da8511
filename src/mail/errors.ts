/**
 * @module mail/errors
 * The failures of mail delivery, one stable code per condition (connect, timeout, TLS, auth,
 * refused by the server, protocol, sendmail, invalid input), all thrown as MailDeliveryError so the
 * caller (`portsnare report`) prints one clear line, exits non-zero and leaves the offsets unmoved.
 */
import { ErrorCodes, PortsnareError } from '../errors.ts';

/**
 * The mail codes under short names; each is the same string as its MAIL_* entry of src/errors.ts's
 * ErrorCodes, so `hasCode(err, ErrorCodes.MAIL_AUTH)` and `hasMailCode(err, MailErrorCodes.AUTH)`
 * say the same.
 */
export const MailErrorCodes = {
  /** The SMTP server could not be reached: refused, unreachable, name not found, or closed early. */
  CONNECT: ErrorCodes.MAIL_CONNECT,
  /** Connecting, the greeting or a reply took longer than the transport's timeoutMs. */
  TIMEOUT: ErrorCodes.MAIL_TIMEOUT,
  /** TLS was required and not offered, or the handshake / certificate check failed. */
  TLS: ErrorCodes.MAIL_TLS,
  /** The server refused the credentials, or wants credentials that were not given. */
  AUTH: ErrorCodes.MAIL_AUTH,
  /** The server refused the sender, a recipient (any one) or the message; the reply is kept. */
  REJECTED: ErrorCodes.MAIL_REJECTED,
  /** The server answered something that is not SMTP, or dropped the session midway. */
  PROTOCOL: ErrorCodes.MAIL_PROTOCOL,
  /** The sendmail program could not be run, exited non-zero or was killed (status and stderr kept). */
  SENDMAIL: ErrorCodes.MAIL_SENDMAIL,
  /** The mail or the transport cannot be used as given (bad address, bad URL, no recipient). */
  INVALID: ErrorCodes.MAIL_INVALID,
} as const;

export type MailErrorCode = (typeof MailErrorCodes)[keyof typeof MailErrorCodes];

export interface MailErrorDetails {
  /** The server's reply line(s) that refused, e.g. `550 5.1.1 <x@y>: no such user`. */
  readonly reply?: string | undefined;
  /** Its numeric code (550), when there was a reply. */
  readonly responseCode?: number | undefined;
  /** The SMTP command that failed (CONN, EHLO, STARTTLS, AUTH PLAIN, MAIL FROM, RCPT TO, DATA). */
  readonly command?: string | undefined;
  /** Recipients the server refused. */
  readonly refused?: readonly string[] | undefined;
  /** Recipients the server accepted (with a refusal among them the message still went to these). */
  readonly accepted?: readonly string[] | undefined;
  /** sendmail: its exit status (null if it could not run or was killed). */
  readonly exitCode?: number | null | undefined;
  /** sendmail: the signal that ended it. */
  readonly signal?: NodeJS.Signals | null | undefined;
  /** sendmail: its stderr text, verbatim. */
  readonly stderr?: string | undefined;
  readonly cause?: unknown;
}

export class MailDeliveryError extends PortsnareError {
  /** The same code, typed as a mail code (what callers and tests compare with MailErrorCodes). */
  readonly mailCode: MailErrorCode;
  readonly reply: string | undefined;
  readonly responseCode: number | undefined;
  readonly command: string | undefined;
  readonly refused: readonly string[];
  readonly accepted: readonly string[];
  readonly exitCode: number | null | undefined;
  readonly signal: NodeJS.Signals | null | undefined;
  readonly stderr: string | undefined;

  constructor(code: MailErrorCode, message: string, details: MailErrorDetails = {}) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MailDeliveryError';
    this.mailCode = code;
    this.reply = details.reply;
    this.responseCode = details.responseCode;
    this.command = details.command;
    this.refused = details.refused ?? [];
    this.accepted = details.accepted ?? [];
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stderr = details.stderr;
  }
}

/** True when `err` is a MailDeliveryError with this code. */
export function hasMailCode(err: unknown, code: MailErrorCode): err is MailDeliveryError {
  return err instanceof MailDeliveryError && err.mailCode === code;
}
