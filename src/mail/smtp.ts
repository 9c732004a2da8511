/**
 * @module mail/smtp
 * Delivery straight to an SMTP server through nodemailer's SMTP transport: the URL and STARTTLS
 * policy turned into nodemailer options, one connection per mail, and nodemailer's errors turned
 * into MailDeliveryError codes. Any refused recipient is an error (MAIL_REJECTED naming it), even
 * when others were accepted: nodemailer goes on to DATA as soon as one RCPT is accepted, so by then
 * those recipients have the message; the error says so (its `accepted`), and the caller treats the
 * whole delivery as failed (offsets unmoved, a rerun sends again) rather than lose a recipient.
 */
import nodemailer from 'nodemailer';
import type { SMTPTransportOptions } from 'nodemailer';
import { MailDeliveryError, MailErrorCodes, type MailErrorCode } from './errors.ts';

export type StartTls = 'require' | 'opportunistic' | 'never';

export interface SmtpTransport {
  readonly kind: 'smtp';
  /** `smtp://host[:port]` (default port 25) or `smtps://host[:port]` (implicit TLS, default 465). */
  readonly url: string;
  /**
   * `require`: STARTTLS or fail (MAIL_TLS); `opportunistic`: STARTTLS when the server offers it,
   * plaintext when it does not or refuses the command (a failed handshake or certificate is still an
   * error); `never`: plaintext even if offered. Ignored for smtps:// (TLS from the start).
   */
  readonly starttls: StartTls;
  readonly user?: string;
  readonly password?: string;
  /** Each of: TCP connect, the greeting (and STARTTLS), any later reply. */
  readonly timeoutMs: number;
  readonly tls?: { readonly rejectUnauthorized?: boolean; readonly ca?: string };
}

export interface SmtpEndpoint {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
}

/** host, port and implicit TLS from the transport URL; MAIL_INVALID when it is not one. */
export function parseSmtpUrl(url: string): SmtpEndpoint {
  const bad = (why: string): never => {
    throw new MailDeliveryError(MailErrorCodes.INVALID, `SMTP URL ${JSON.stringify(url)}: ${why}`);
  };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return bad('not a URL (smtp://host:port or smtps://host:port)');
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') bad('scheme must be smtp:// or smtps://');
  // Credentials go in user/password, where they are not printed with the URL in error lines.
  if (u.username !== '' || u.password !== '') bad('put the user and password in their own settings');
  if ((u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '')
    bad('only a host and a port');
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') bad('no host');
  const secure = u.protocol === 'smtps:';
  return { host, port: u.port === '' ? (secure ? 465 : 25) : Number(u.port), secure };
}

/** The nodemailer options for one delivery. */
export function smtpOptions(t: SmtpTransport): SMTPTransportOptions {
  const ep = parseSmtpUrl(t.url);
  if (!Number.isFinite(t.timeoutMs) || t.timeoutMs <= 0)
    throw new MailDeliveryError(MailErrorCodes.INVALID, `SMTP timeout must be positive, got ${t.timeoutMs}`);
  if ((t.user === undefined) !== (t.password === undefined))
    throw new MailDeliveryError(MailErrorCodes.INVALID, 'SMTP user and password go together');
  const tls: NonNullable<SMTPTransportOptions['tls']> = {};
  if (t.tls?.rejectUnauthorized !== undefined) tls.rejectUnauthorized = t.tls.rejectUnauthorized;
  if (t.tls?.ca !== undefined) tls.ca = t.tls.ca;
  return {
    host: ep.host,
    port: ep.port,
    secure: ep.secure,
    requireTLS: !ep.secure && t.starttls === 'require',
    ignoreTLS: !ep.secure && t.starttls === 'never',
    opportunisticTLS: !ep.secure && t.starttls === 'opportunistic',
    ...(t.user !== undefined && t.password !== undefined ? { auth: { user: t.user, pass: t.password } } : {}),
    connectionTimeout: t.timeoutMs,
    greetingTimeout: t.timeoutMs,
    socketTimeout: t.timeoutMs,
    dnsTimeout: t.timeoutMs,
    tls,
    // A smarthost on localhost must work on a box whose only interface is loopback.
    allowInternalNetworkInterfaces: true,
    logger: false,
    debug: false,
  };
}

/** Node's codes for a TLS handshake or certificate failure (`DEPTH_ZERO_SELF_SIGNED_CERT`...). */
const TLS_FAILURE =
  /^(?:ERR_SSL_|ERR_TLS_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE)/;

interface NodemailerFailure {
  code?: unknown;
  originalCode?: unknown;
  message?: unknown;
  response?: unknown;
  responseCode?: unknown;
  command?: unknown;
  rejected?: unknown;
  rejectedErrors?: unknown;
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

interface Refusal {
  readonly recipient: string;
  readonly reply: string | undefined;
  readonly responseCode: number | undefined;
}

/** Each refused recipient with the server's reply to its RCPT TO. */
function refusals(errs: unknown): Refusal[] {
  if (!Array.isArray(errs)) return [];
  return errs.flatMap((e: unknown) => {
    if (typeof e !== 'object' || e === null) return [];
    const f = e as { recipient?: unknown; response?: unknown; responseCode?: unknown };
    const responseCode = typeof f.responseCode === 'number' ? f.responseCode : undefined;
    return [{ recipient: str(f.recipient) ?? '?', reply: str(f.response), responseCode }];
  });
}

/** `addr: 550 no such user; addr2: ...` */
const refusalText = (rs: readonly Refusal[]): string =>
  rs.map((r) => `${r.recipient}: ${r.reply ?? 'refused'}`).join('; ');

/** A nodemailer error (its `code`, `response`, `command`) as a MailDeliveryError. */
export function smtpError(err: unknown, where: string): MailDeliveryError {
  const f: NodemailerFailure = typeof err === 'object' && err !== null ? err : {};
  const nmCode = str(f.code) ?? '';
  const reply = str(f.response);
  const command = str(f.command);
  const responseCode = typeof f.responseCode === 'number' ? f.responseCode : undefined;
  const text = str(f.message) ?? String(err);
  let code: MailErrorCode;
  switch (nmCode) {
    case 'ETIMEDOUT':
      code = MailErrorCodes.TIMEOUT;
      break;
    case 'ETLS':
      code = MailErrorCodes.TLS;
      break;
    case 'EAUTH':
    case 'ENOAUTH':
      code = MailErrorCodes.AUTH;
      break;
    case 'EENVELOPE':
    case 'EMESSAGE':
      // 530 (5.7.0) "authentication required": not the recipients, the missing credentials.
      code = responseCode === 530 ? MailErrorCodes.AUTH : MailErrorCodes.REJECTED;
      break;
    case 'EDNS':
      code = MailErrorCodes.CONNECT;
      break;
    case 'ESOCKET':
      // A failed handshake or certificate check arrives as a socket error; its system code tells.
      code = TLS_FAILURE.test(str(f.originalCode) ?? '') ? MailErrorCodes.TLS : MailErrorCodes.CONNECT;
      break;
    case 'ECONNECTION':
      // Before the greeting it is a failed connect; later, a session cut midway.
      code = command === 'CONN' ? MailErrorCodes.CONNECT : MailErrorCodes.PROTOCOL;
      break;
    default:
      code = MailErrorCodes.PROTOCOL;
  }
  const refused = strings(f.rejected);
  const rs = refusals(f.rejectedErrors);
  const detail = rs.length > 0 ? ` (${refusalText(rs)})` : '';
  return new MailDeliveryError(code, `SMTP ${where}: ${text}${detail}`, {
    reply,
    responseCode,
    command,
    refused,
    cause: err,
  });
}

/**
 * Sends `raw` (the whole RFC 5322 message) to `to` from `from`. Resolves with the accepted
 * recipients when every recipient was accepted; rejects with a MailDeliveryError otherwise.
 */
export async function sendSmtp(
  t: SmtpTransport,
  from: string,
  to: readonly string[],
  raw: Buffer,
): Promise<string[]> {
  const options = smtpOptions(t);
  const host = options.host ?? '';
  const where = `${host.includes(':') ? `[${host}]` : host}:${String(options.port)}`;
  const transporter = nodemailer.createTransport(options);
  try {
    let info;
    try {
      info = await transporter.sendMail({ envelope: { from, to: [...to] }, raw });
    } catch (err) {
      const e = smtpError(err, where);
      if (e.mailCode !== MailErrorCodes.TIMEOUT) throw e;
      // nodemailer says only "Timeout" or "Greeting never received": say what was waited for.
      throw new MailDeliveryError(
        MailErrorCodes.TIMEOUT,
        `${e.message} (no answer within ${t.timeoutMs} ms${e.command ? ` at ${e.command}` : ''})`,
        { command: e.command, cause: err },
      );
    }
    const accepted = strings(info.accepted);
    const refused = strings(info.rejected);
    if (refused.length > 0) {
      const rs = refusals((info as { rejectedErrors?: unknown }).rejectedErrors);
      throw new MailDeliveryError(
        MailErrorCodes.REJECTED,
        `SMTP ${where}: recipient(s) refused: ${rs.length > 0 ? refusalText(rs) : refused.join(', ')}` +
          ` (the message went to ${accepted.join(', ')})`,
        { refused, accepted, reply: rs[0]?.reply, responseCode: rs[0]?.responseCode, command: 'RCPT TO' },
      );
    }
    return accepted;
  } finally {
    transporter.close();
  }
}
