/**
 * @module mail/deliver
 * One mail out, by the transport the config chose: the local sendmail program (as logcheck does)
 * or an SMTP server. Resolves only when the mail was handed over whole, to every recipient;
 * everything else is a MailDeliveryError (see mail/errors) so `portsnare report` exits non-zero
 * and leaves the offsets where they were.
 */
import { composeMail, type OutgoingMail } from './message.ts';
import { runSendmail, sendmailArgv } from './sendmail.ts';
import { sendSmtp, type SmtpTransport } from './smtp.ts';

export interface SendmailTransport {
  readonly kind: 'sendmail';
  /** The program, e.g. `/usr/sbin/sendmail`; a bare name is looked up in PATH. */
  readonly path: string;
  /**
   * Arguments put before portsnare's own (`-oi -f FROM -- TO...`), e.g. `['-C', rcfile]` for
   * msmtp or `['-odq']` for exim. Each is one argv element; nothing is split or expanded.
   */
  readonly args?: readonly string[];
  /** Kill sendmail if it has not exited by then (it may be waiting on a slow smarthost). */
  readonly timeoutMs?: number;
}

export type Transport = SendmailTransport | SmtpTransport;

export interface Delivered {
  readonly messageId: string;
  readonly accepted: string[];
}

/**
 * Builds and sends `mail`. sendmail gets the message with LF line ends (the local convention) and
 * reports no per-recipient result, so `accepted` is every recipient once it exits 0; SMTP gets
 * CRLF and `accepted` is what the server accepted (all of them, or this throws).
 */
export async function deliverMail(mail: OutgoingMail, transport: Transport): Promise<Delivered> {
  if (transport.kind === 'sendmail') {
    const { messageId, raw } = await composeMail(mail, { newline: 'lf' });
    await runSendmail({
      path: transport.path,
      args: sendmailArgv(mail.from, mail.to, transport.args),
      message: raw,
      timeoutMs: transport.timeoutMs,
    });
    return { messageId, accepted: [...mail.to] };
  }
  const { messageId, raw } = await composeMail(mail);
  const accepted = await sendSmtp(transport, mail.from, mail.to, raw);
  return { messageId, accepted };
}

export type { OutgoingMail, MailAttachment } from './message.ts';
export { buildMime, AUTO_SUBMITTED } from './message.ts';
export type { SmtpTransport, StartTls } from './smtp.ts';
export { parseAddressList, addressProblem } from './address.ts';
export { MailDeliveryError, MailErrorCodes, hasMailCode, type MailErrorCode } from './errors.ts';
