/**
 * @module mail/message
 * The outgoing mail (what the digest hands over) and its RFC 5322 form, built by nodemailer's
 * MailComposer: a text/plain part, with `html` a multipart/alternative of text and HTML, with
 * attachments a multipart/mixed around that. `Auto-Submitted: auto-generated` is added unless the
 * caller's headers set it, so vacation responders and list servers do not answer the digest.
 */
import { randomBytes } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import { addressProblem } from './address.ts';
import { MailDeliveryError, MailErrorCodes } from './errors.ts';

export interface MailAttachment {
  readonly filename: string;
  readonly content: Buffer;
  /** e.g. `application/gzip` for the raw lines. */
  readonly contentType: string;
}

export interface OutgoingMail {
  /** Envelope sender and From: header; a bare addr-spec (see mail/address). */
  readonly from: string;
  /** Envelope recipients and the To: header; at least one. */
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  /** With it, the body is multipart/alternative (text first, then HTML). */
  readonly html?: string;
  readonly attachments?: readonly MailAttachment[];
  /** Extra header fields; `Auto-Submitted` here replaces the default. */
  readonly headers?: Readonly<Record<string, string>>;
}

export const AUTO_SUBMITTED: Readonly<Record<string, string>> = { 'Auto-Submitted': 'auto-generated' };

export interface ComposeOptions {
  /** Line ends: CRLF (RFC 5322, SMTP) by default; LF for a local sendmail, as Unix tools expect. */
  readonly newline?: 'crlf' | 'lf';
  /** The Message-ID to use (with angle brackets); default a random one at the sender's domain. */
  readonly messageId?: string;
  /** The Date: header; default now. */
  readonly date?: Date;
}

export interface ComposedMail {
  readonly messageId: string;
  readonly raw: Buffer;
}

/** Throws MAIL_INVALID when the addresses of `mail` cannot go into an envelope. */
export function checkAddresses(mail: OutgoingMail): void {
  const bad = (why: string): never => {
    throw new MailDeliveryError(MailErrorCodes.INVALID, `mail not sent: ${why}`);
  };
  const fromWhy = addressProblem(mail.from);
  if (fromWhy !== null) bad(`sender ${fromWhy}`);
  if (mail.to.length === 0) bad('no recipient');
  for (const to of mail.to) {
    const why = addressProblem(to);
    if (why !== null) bad(`recipient ${why}`);
  }
}

/** Fields the composer writes from OutgoingMail itself; a second copy would make an ambiguous mail. */
const OWN_FIELDS = new Set(['from', 'to', 'cc', 'bcc', 'subject', 'message-id', 'date', 'mime-version']);

/** Why an extra header cannot go into the mail, or null. */
export function headerProblem(name: string, value: string): string | null {
  // RFC 5322 field name: printable ASCII except the colon.
  if (!/^[!-9;-~]+$/.test(name)) return `name ${JSON.stringify(name)} is not a field name`;
  if (OWN_FIELDS.has(name.toLowerCase()) || name.toLowerCase().startsWith('content-'))
    return `${name} comes from the mail itself, not from headers`;
  // A line break would let a value start a header (or the body) of its own.
  if (/[\r\n]/.test(value)) return `${name}: value holds a line break`;
  return null;
}

/** A fresh Message-ID at the sender's domain (or `localhost` for a bare local sender). */
export function newMessageId(from: string): string {
  const at = from.lastIndexOf('@');
  const domain = at === -1 ? 'localhost' : from.slice(at + 1);
  return `<${Date.now().toString(36)}.${randomBytes(9).toString('hex')}.portsnare@${domain}>`;
}

/** The message and its Message-ID. Addresses are checked first (MAIL_INVALID). */
export async function composeMail(mail: OutgoingMail, options: ComposeOptions = {}): Promise<ComposedMail> {
  checkAddresses(mail);
  const messageId = options.messageId ?? newMessageId(mail.from);
  const headers: Record<string, string> = { ...AUTO_SUBMITTED };
  for (const [k, v] of Object.entries(mail.headers ?? {})) {
    const why = headerProblem(k, v);
    if (why !== null) throw new MailDeliveryError(MailErrorCodes.INVALID, `mail not built: header ${why}`);
    // A header given in another case replaces the default rather than doubling it.
    for (const d of Object.keys(headers)) if (d.toLowerCase() === k.toLowerCase()) delete headers[d];
    headers[k] = v;
  }
  const composer = new MailComposer({
    from: mail.from,
    to: [...mail.to],
    subject: mail.subject,
    text: mail.text,
    ...(mail.html === undefined ? {} : { html: mail.html }),
    attachments: (mail.attachments ?? []).map((a) => ({
      filename: a.filename,
      content: a.content,
      contentType: a.contentType,
    })),
    headers,
    messageId,
    date: options.date ?? new Date(),
    newline: options.newline === 'lf' ? 'unix' : 'windows',
    // The digest gives contents, never paths or URLs: nothing may make the composer read a file.
    disableFileAccess: true,
    disableUrlAccess: true,
    xMailer: false,
  });
  try {
    return { messageId, raw: await composer.compile().build() };
  } catch (err) {
    throw new MailDeliveryError(MailErrorCodes.INVALID, `mail not built: ${String(err)}`, { cause: err });
  }
}

/** The RFC 5322 message (CRLF line ends) of `mail`, for tests and `--stdout`-like uses. */
export async function buildMime(mail: OutgoingMail): Promise<Buffer> {
  return (await composeMail(mail)).raw;
}
