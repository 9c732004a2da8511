/**
 * @module digest/mail
 * The digest as a mail (mail/ builds and sends it): the subject says the most severe thing first
 * (blocked attackers, then alerts), the text part is always there (HTML is its alternative, JSON
 * an attachment), and the raw lines ride along gzipped when REPORT_ATTACH_RAW asks for them. The
 * transport comes from the REPORT_* keys; the SMTP password is read from its file only here.
 */
import { readFile } from 'node:fs/promises';
import type { Settings } from '../config/settings.ts';
import { ErrorCodes, PortsnareError } from '../errors.ts';
import type { OutgoingMail, Transport } from '../mail/deliver.ts';
import type { DigestView } from './view.ts';

export interface DigestMailParts {
  readonly format: 'text' | 'html' | 'json';
  readonly from: string;
  readonly to: readonly string[];
  readonly text: string;
  readonly html: string | null;
  readonly json: string | null;
  readonly raw: Buffer | null;
}

export function digestSubject(view: DigestView): string {
  const parts: string[] = [];
  if (view.attackerCount > 0) {
    parts.push(
      `${view.attackerCount} attacker${view.attackerCount === 1 ? '' : 's'} (${view.blockedCount} blocked)`,
    );
  }
  const alerts = view.sections.filter((s) => s.kind === 'alerts').reduce((n, s) => n + s.lines, 0);
  const events = view.sections.filter((s) => s.kind === 'events').reduce((n, s) => n + s.lines, 0);
  if (alerts > 0) parts.push(`${alerts} alert${alerts === 1 ? '' : 's'}`);
  if (events > 0) parts.push(`${events} security event${events === 1 ? '' : 's'}`);
  if (parts.length === 0) parts.push('system events');
  return `portsnare digest for ${view.host}: ${parts.join(', ')}`;
}

export function composeDigestMail(view: DigestView, parts: DigestMailParts): OutgoingMail {
  const attachments: { filename: string; content: Buffer; contentType: string }[] = [];
  if (parts.json !== null) {
    attachments.push({
      filename: 'digest.json',
      content: Buffer.from(parts.json),
      contentType: 'application/json',
    });
  }
  if (parts.raw !== null) {
    attachments.push({ filename: 'lines.txt.gz', content: parts.raw, contentType: 'application/gzip' });
  }
  return {
    from: parts.from,
    to: parts.to,
    subject: digestSubject(view),
    text: parts.text,
    ...(parts.html !== null ? { html: parts.html } : {}),
    ...(attachments.length > 0 ? { attachments } : {}),
  };
}

/**
 * A local sendmail queues the message and returns at once; msmtp relays before it returns, so it
 * takes as long as its server (its own timeout is 5 minutes). A sendmail that hangs past that is
 * killed and the run fails, offsets unmoved, instead of holding the hourly run forever.
 */
const SENDMAIL_TIMEOUT_MS = 6 * 60_000;

/** The transport the REPORT_* keys describe. */
export async function transportOf(settings: Settings): Promise<Transport> {
  if (settings.reportDelivery === 'sendmail') {
    return { kind: 'sendmail', path: settings.reportSendmail, timeoutMs: SENDMAIL_TIMEOUT_MS };
  }
  let password: string | undefined;
  if (settings.reportSmtpPasswordFile !== '') {
    try {
      password = (await readFile(settings.reportSmtpPasswordFile, 'utf8')).split('\n')[0];
    } catch (err) {
      throw new PortsnareError(
        ErrorCodes.FILE,
        `REPORT_SMTP_PASSWORD_FILE ${settings.reportSmtpPasswordFile} cannot be read`,
        { cause: err },
      );
    }
  }
  return {
    kind: 'smtp',
    url: settings.reportSmtpUrl,
    starttls: settings.reportSmtpStarttls,
    timeoutMs: settings.reportSmtpTimeout * 1000,
    ...(settings.reportSmtpUser !== '' ? { user: settings.reportSmtpUser } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}
