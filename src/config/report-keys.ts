/**
 * @module config/report-keys
 * The REPORT_* keys (`portsnare report` and the daemon's alert mail) as one typed group, and the
 * checks that need more than a key's kind: recipient and sender addresses, the SMTP URL that
 * REPORT_DELIVERY="smtp" needs, and the password file that goes with REPORT_SMTP_USER.
 */
import { isAbsolute } from 'node:path';

export type ReportFormat = 'text' | 'html' | 'json';
export type StartTls = 'require' | 'opportunistic' | 'never';

/** The report settings, flat as the keys are (each key's Settings property, config/settings). */
export interface ReportSettings {
  reportMailTo: string[];
  /** Empty: portsnare@ the host name, filled in when the mail is sent. */
  reportMailFrom: string;
  reportDelivery: 'sendmail' | 'smtp';
  reportSendmail: string;
  reportSmtpUrl: string;
  reportSmtpStarttls: StartTls;
  reportSmtpUser: string;
  reportSmtpPasswordFile: string;
  /** Seconds. */
  reportSmtpTimeout: number;
  reportFormat: ReportFormat;
  reportLogcheckConf: string;
  reportStateDir: string;
  reportMaxAttackers: number;
  reportMaxTemplates: number;
  reportMaxBytes: number;
  reportAttachRaw: boolean;
  reportAlertMail: boolean;
  /** Seconds. */
  reportAlertInterval: number;
}

// A local part (sendmail takes a bare user name such as "root") with an optional domain; no
// display names, no spaces, no quotes: these go on a command line and into SMTP envelopes.
const ADDRESS = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+(@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)?$/;

/** Addresses separated by commas or white space; an address must not start with "-" (an option). */
export function parseMailAddresses(text: string): { addresses: string[] } | { error: string } {
  const addresses = text.split(/[\s,]+/).filter(Boolean);
  for (const a of addresses) {
    if (a.startsWith('-') || !ADDRESS.test(a)) return { error: `"${a}" is not a mail address` };
  }
  return { addresses };
}

type Problem = (key: string, message: string) => void;

/** The group from the keys' checked values (`get`), reporting what only the group can check. */
export function readReportSettings(get: (key: string) => unknown, problem: Problem): ReportSettings {
  const to = parseMailAddresses(get('REPORT_MAIL_TO') as string);
  if ('error' in to) problem('REPORT_MAIL_TO', to.error);
  const from = get('REPORT_MAIL_FROM') as string;
  if (from !== '') {
    const parsed = parseMailAddresses(from);
    if ('error' in parsed || parsed.addresses.length !== 1) {
      problem('REPORT_MAIL_FROM', `"${from}" is not one mail address`);
    }
  }
  const settings: ReportSettings = {
    reportMailTo: 'error' in to ? [] : to.addresses,
    reportMailFrom: from,
    reportDelivery: get('REPORT_DELIVERY') as ReportSettings['reportDelivery'],
    reportSendmail: get('REPORT_SENDMAIL') as string,
    reportSmtpUrl: get('REPORT_SMTP_URL') as string,
    reportSmtpStarttls: get('REPORT_SMTP_STARTTLS') as StartTls,
    reportSmtpUser: get('REPORT_SMTP_USER') as string,
    reportSmtpPasswordFile: get('REPORT_SMTP_PASSWORD_FILE') as string,
    reportSmtpTimeout: get('REPORT_SMTP_TIMEOUT') as number,
    reportFormat: get('REPORT_FORMAT') as ReportFormat,
    reportLogcheckConf: get('REPORT_LOGCHECK_CONF') as string,
    reportStateDir: get('REPORT_STATE_DIR') as string,
    reportMaxAttackers: get('REPORT_MAX_ATTACKERS') as number,
    reportMaxTemplates: get('REPORT_MAX_TEMPLATES') as number,
    reportMaxBytes: get('REPORT_MAX_BYTES') as number,
    reportAttachRaw: get('REPORT_ATTACH_RAW') as boolean,
    reportAlertMail: get('REPORT_ALERT_MAIL') as boolean,
    reportAlertInterval: get('REPORT_ALERT_INTERVAL') as number,
  };
  const url = settings.reportSmtpUrl;
  if (url !== '') {
    const why = smtpUrlProblem(url);
    if (why) problem('REPORT_SMTP_URL', why);
  } else if (settings.reportDelivery === 'smtp') {
    problem('REPORT_DELIVERY', 'is "smtp" but REPORT_SMTP_URL is empty');
  }
  const passwordFile = settings.reportSmtpPasswordFile;
  if (passwordFile !== '' && !isAbsolute(passwordFile)) {
    problem('REPORT_SMTP_PASSWORD_FILE', `"${passwordFile}" is not an absolute path`);
  }
  if (settings.reportSmtpUser !== '' && passwordFile === '') {
    problem('REPORT_SMTP_USER', 'is set but REPORT_SMTP_PASSWORD_FILE is empty');
  }
  return settings;
}

/** Why an SMTP URL cannot be used, or null: smtp:// or smtps://, a host, an optional port, nothing else. */
export function smtpUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL (smtp://host:port or smtps://host:port)`;
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    return `"${text}": the scheme must be smtp:// or smtps://`;
  }
  if (url.hostname === '') return `"${text}" names no host`;
  if (url.username !== '' || url.password !== '') {
    return `"${text}": put the user in REPORT_SMTP_USER and the password in REPORT_SMTP_PASSWORD_FILE, not in the URL`;
  }
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
    return `"${text}": only smtp://host:port is understood`;
  }
  return null;
}
