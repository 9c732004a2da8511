/**
 * @module logcheck/mail
 * The report mail exactly as logcheck 1.4.2 has mime-construct 1.11 build it, and its delivery the
 * way mime-construct does it: `sendmail -oi <recipients>` with the message on stdin. Byte-exact
 * with mime-construct's output (header order, `MIME-Version: 1.0 (mime-construct 1.11)`, its choice
 * of 7bit / quoted-printable / base64, MIME::QuotedPrint's line breaking, the `=46rom` escape,
 * MAILASATTACH=1/2 multiparts) so existing mail filters and the fixtures keep matching; only the
 * multipart boundary differs (mime-construct draws a random word, so does this).
 *
 * Everything here works on bytes held in latin1 strings (one char per byte) because mime-construct
 * reads the report as bytes and its rules (line lengths, the 25 % non-ASCII ratio) count bytes.
 */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { ErrorCodes, PortsnareError } from '../errors.ts';

export const MIME_CONSTRUCT_VERSION = '1.11';
/** The header logcheck always adds (MIMECONSTRUCTARGS). */
export const AUTO_SUBMITTED = 'Auto-Submitted: auto-generated';

export interface MailOptions {
  subject: string;
  /** SENDMAILTO; several addresses become one `To:` line joined by ", " (repeated --to). */
  to: string | readonly string[];
  /** MIMEENCODING: '' or undefined lets the content choose (mime-construct's rules). */
  encoding?: string;
  /** MAILASATTACH: 0 inline, 1 "Report attached" + text attachment, 2 + gzip attachment. */
  attach?: 0 | 1 | 2;
  /** Extra header lines; default logcheck's `Auto-Submitted: auto-generated`. */
  headers?: readonly string[];
  /** Multipart boundary chooser (tests pin it); must return a token not found in the parts. */
  boundary?: (parts: readonly string[]) => string;
}

/** mime-construct's encoding choice for a part (bytes as latin1). */
export function chooseEncoding(s: string): '7bit' | 'quoted-printable' | 'base64' {
  if (s === '') return '7bit';
  const lines = s.split('\n');
  // 7bit: only tab, newline and printable ASCII, a final newline, no blank before a newline, no
  // "From " line, no line over 80 bytes.
  if (
    // eslint-disable-next-line no-control-regex -- mime-construct's byte class, control bytes included
    !/[^\x09\x0a\x20-\x7e]/.test(s) &&
    s.endsWith('\n') &&
    !/[ \t]\n/.test(s) &&
    !lines.some((l) => l.startsWith('From ') || l.length >= 81)
  ) {
    return '7bit';
  }
  // Quoted-printable cannot represent data without a final newline.
  if (!s.endsWith('\n')) return 'base64';
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x08 || (c >= 0x0b && c <= 0x1f) || c >= 0x80) n++;
  }
  return n / s.length < 0.25 ? 'quoted-printable' : 'base64';
}

const MAX_LINE = 76;

function isPlain(c: number): boolean {
  return c === 0x09 || (c >= 0x20 && c <= 0x7e && c !== 0x3d);
}

/**
 * MIME::QuotedPrint::encode (3.16, XS) with "\n" line ends: runs of plain text kept, lines broken
 * with `=\n` so no encoded line exceeds 76 characters, blanks before a newline (or the end)
 * escaped, an escape never split, a lone character after a soft break joined back to its line,
 * and a soft break at the end of data without a final newline.
 */
export function encodeQuotedPrintable(s: string): string {
  let out = '';
  let linelen = 0;
  let beg = 0;
  const end = s.length;
  if (end === 0) return '';
  for (;;) {
    let p = beg;
    while (p < end && isPlain(s.charCodeAt(p))) p++;
    if (p === end || s[p] === '\n') {
      // Whitespace at the end of a line must be encoded.
      while (p > beg && (s[p - 1] === '\t' || s[p - 1] === ' ')) p--;
    }
    let plen = p - beg;
    if (plen > 0) {
      while (plen > MAX_LINE - 1 - linelen) {
        const len = MAX_LINE - 1 - linelen;
        out += `${s.slice(beg, beg + len)}=\n`;
        beg += len;
        plen -= len;
        linelen = 0;
      }
      if (plen > 0) {
        out += s.slice(beg, beg + plen);
        beg += plen;
        linelen += plen;
      }
    } else if (s[p] === '\n') {
      if (linelen === 1 && out.length > 2 && out[out.length - 3] === '=') {
        // A soft break followed by one character and the real newline: drop the useless break.
        out = `${out.slice(0, -3)}${out[out.length - 1]}\n`;
      } else {
        out += '\n';
      }
      p++;
      linelen = 0;
    } else {
      if (linelen > MAX_LINE - 4 && !(linelen === MAX_LINE - 3 && p + 1 < end && s[p + 1] === '\n')) {
        out += '=\n';
        linelen = 0;
      }
      out += `=${s.charCodeAt(p).toString(16).toUpperCase().padStart(2, '0')}`;
      p++;
      linelen += 3;
    }
    if (p === end) {
      if (linelen > 0) out += '=\n';
      return out;
    }
    beg = p;
  }
}

/** MIME::Base64::encode: 76-character lines, each ending in "\n". */
export function encodeBase64(s: string): string {
  const b = Buffer.from(s, 'latin1').toString('base64');
  let out = '';
  for (let i = 0; i < b.length; i += MAX_LINE) out += `${b.slice(i, i + MAX_LINE)}\n`;
  return out;
}

/** mime-construct's encode(): the encoding used (as given, or chosen) and the encoded data. */
function encodePart(encoding: string, s: string): [string, string] {
  const used = encoding === '' ? chooseEncoding(s) : encoding;
  const lc = used.toLowerCase();
  if (lc === '7bit' || lc === '8bit' || lc === 'binary') return [used, s];
  if (lc === 'quoted-printable') {
    // Escape /^From / so an MTA does not mangle it into ">From ".
    return [used, encodeQuotedPrintable(s).replace(/(^|\n)From /g, '$1=46rom ')];
  }
  if (lc === 'base64') return [used, encodeBase64(s)];
  throw new PortsnareError(
    ErrorCodes.CONFIG,
    `MIMEENCODING: invalid encoding ${encoding} (7bit, 8bit, binary, quoted-printable or base64)`,
  );
}

/** Header continuation: a newline followed by a non-blank gets a tab. */
function cont(s: string): string {
  // Perl's \s on bytes (not JS's Unicode \s, which also takes \xa0).
  // eslint-disable-next-line no-control-regex -- the vertical tab is one of Perl's blanks
  return s.replace(/\n([^\t\n\x0b\f\r ])/g, '\n\t$1');
}

/** A MIME token, quoted when it holds specials. */
function tokenQuote(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\x20\x00-\x1f\x7f\x80-\xff()<>@,;:\\"/[\]?=]/.test(s)) return `"${s.replace(/(["\r\\])/g, '\\$1')}"`;
  return s;
}

interface PartSpec {
  body: string;
  encoding: string;
  type?: string;
  attachment?: string;
}

/** One part: its headers (Content-Disposition, Content-Type, Content-Transfer-Encoding), blank line, body. */
function buildPart(spec: PartSpec): { text: string; encoding: string } {
  let type = spec.type ?? 'text/plain';
  let p = '';
  if (spec.attachment !== undefined) {
    p += `Content-Disposition: attachment; filename=${tokenQuote(spec.attachment)}\n`;
    // Some mail clients need the name in Content-Type too.
    type += `; name=${tokenQuote(spec.attachment)}`;
  }
  const [encoding, body] = encodePart(spec.encoding, spec.body);
  if (!/^\s*text\/plain(?:\s*;\s*charset=("?)us-ascii\1)?\s*$/i.test(type))
    p += cont(`Content-Type: ${type}\n`);
  if (encoding.toLowerCase() !== '7bit') p += cont(`Content-Transfer-Encoding: ${encoding}\n`);
  return { text: `${p}\n${body}`, encoding };
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';

/** A random 10-letter boundary that occurs in no part (mime-construct's fallback shape). */
export function randomBoundary(parts: readonly string[]): string {
  for (let t = 0; t < 100; t++) {
    let w = 'portsnare-';
    for (let i = 0; i < 10; i++) w += ALPHABET[randomInt(26)];
    if (parts.every((p) => !p.includes(w))) return w;
  }
  throw new PortsnareError(
    ErrorCodes.UNEXPECTED_OUTPUT,
    'cannot find a MIME boundary absent from the report',
  );
}

/**
 * The whole message (headers and body) as mime-construct writes it for logcheck's sendreport:
 * `mime-construct --header 'Auto-Submitted: auto-generated' --subject S --to T [--encoding E]
 * --file report`, or the MAILASATTACH=1/2 variants.
 */
export function buildMessage(report: string | Buffer, options: MailOptions): Buffer {
  const bytes =
    typeof report === 'string' ? Buffer.from(report, 'utf8').toString('latin1') : report.toString('latin1');
  const enc = options.encoding ?? '';
  const attach = options.attach ?? 0;
  const to = typeof options.to === 'string' ? [options.to] : [...options.to];
  const specs: PartSpec[] =
    attach === 0
      ? [{ body: bytes, encoding: enc }]
      : attach === 1
        ? [
            // logcheck passes "${ENCODING[@]}" before both parts.
            { body: 'Report attached', encoding: enc },
            { body: bytes, encoding: enc, attachment: 'logcheck_report' },
          ]
        : [
            { body: 'Report attached', encoding: enc },
            {
              body: gzipSync(Buffer.from(bytes, 'latin1')).toString('latin1'),
              encoding: '',
              type: 'application/x-gzip',
              attachment: 'logcheck_report.gz',
            },
          ];
  const parts = specs.map(buildPart);

  const out: string[] = [];
  // Header text goes out as its UTF-8 bytes, like the arguments mime-construct is given.
  const bytesOf = (t: string): string => Buffer.from(t, 'utf8').toString('latin1');
  if (to.length > 0) out.push(cont(`To: ${bytesOf(to.join(', '))}\n`));
  if (options.subject !== '') out.push(cont(`Subject: ${bytesOf(options.subject)}\n`));
  let header = '';
  for (const h of options.headers ?? [AUTO_SUBMITTED]) {
    header += bytesOf(h);
    if (!header.endsWith('\n')) header += '\n';
  }
  if (header !== '') out.push(header);
  out.push(`MIME-Version: 1.0 (mime-construct ${MIME_CONSTRUCT_VERSION})\n`);
  if (parts.length === 1) {
    out.push(parts[0]!.text);
  } else {
    const texts = parts.map((p) => p.text);
    const boundary = (options.boundary ?? randomBoundary)(texts);
    let multiEnc = '7bit';
    for (const p of parts) {
      const e = p.encoding.toLowerCase();
      if (e === 'binary') multiEnc = 'binary';
      else if (e === '8bit' && multiEnc !== 'binary') multiEnc = '8bit';
    }
    out.push(cont(`Content-Type: multipart/mixed; boundary=${tokenQuote(boundary)}\n`));
    if (multiEnc !== '7bit') out.push(`Content-Transfer-Encoding: ${multiEnc}\n`);
    for (const t of texts) out.push(`\n--${boundary}\n`, t);
    out.push(`\n--${boundary}--\n`);
  }
  // A forced encoding of data without a final newline can leave the message without one.
  if (!out[out.length - 1]!.endsWith('\n')) out.push('\n');
  return Buffer.from(out.join(''), 'latin1');
}

/** The recipients mime-construct hands to sendmail (To, then Cc, then Bcc; logcheck uses only To). */
export function sendmailArgs(recipients: readonly string[]): string[] {
  return ['-oi', ...recipients];
}

/** A failed delivery: sendmail could not be run, or exited non-zero / by a signal. */
export class SendmailError extends PortsnareError {
  constructor(
    message: string,
    readonly program: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(ErrorCodes.SENDMAIL_FAILED, message, options);
    this.name = 'SendmailError';
  }
}

export interface SendOptions {
  /** The sendmail program; default `sendmail` looked up in PATH. */
  sendmail?: string;
  /** Environment of the child; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Delivers a message as mime-construct does: runs `<sendmail> -oi <recipients...>` (argument
 * vector, no shell) with PATH extended by `:/usr/sbin:/usr/lib` (`/usr/local/bin:/bin:/usr/bin`
 * when unset) so a bare `sendmail` is found, writes the message on its stdin and waits. Resolves
 * when it exits 0; otherwise rejects with a SendmailError (code SENDMAIL_FAILED) carrying its stderr.
 */
export function sendMail(
  message: Buffer,
  recipients: readonly string[],
  options: SendOptions = {},
): Promise<void> {
  const program = options.sendmail ?? 'sendmail';
  const base = options.env ?? process.env;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  env.PATH = `${base.PATH ?? '/usr/local/bin:/bin:/usr/bin'}:/usr/sbin:/usr/lib`;
  const args = sendmailArgs(recipients);
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (err: SendmailError): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    const child = spawn(program, args, { env, stdio: ['pipe', 'pipe', 'pipe'], shell: false });
    const stderr: Buffer[] = [];
    const stdout: Buffer[] = [];
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.on('error', (err) => {
      fail(
        new SendmailError(`cannot run ${program}: ${err.message}`, program, null, null, '', { cause: err }),
      );
    });
    // sendmail may exit before reading everything; its exit status says what happened.
    child.stdin.on('error', () => {});
    child.on('close', (code, signal) => {
      if (settled) return;
      const errText = Buffer.concat(stderr).toString('utf8');
      if (code === 0) {
        settled = true;
        resolve();
        return;
      }
      const why = signal !== null ? `killed by ${signal}` : `exited with status ${String(code)}`;
      const detail = errText.trim() || Buffer.concat(stdout).toString('utf8').trim();
      fail(
        new SendmailError(`${program} ${why}${detail ? `: ${detail}` : ''}`, program, code, signal, errText),
      );
    });
    child.stdin.end(message);
  });
}
