/**
 * @module mail/address
 * Mail addresses as portsnare accepts them in its config (MAILTO, MAIL_FROM): a bare addr-spec,
 * `local@domain` with an RFC 5322 dot-atom local part and an LDH host name (or a bare local user
 * name such as logcheck's default `logcheck`, for the sendmail path). Nothing that could be read as
 * an option by sendmail (a leading `-`), no display names, quoted local parts, comments, angle
 * brackets or non-ASCII: a config value that needs them is more likely a mistake than a mailbox.
 */

/** RFC 5322 atext. */
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
const DOT_ATOM = new RegExp(`^${ATEXT}+(?:\\.${ATEXT}+)*$`);
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export interface AddressOptions {
  /** Refuse a bare local name (no `@domain`): an SMTP server wants a domain. Default false. */
  readonly requireDomain?: boolean;
}

/** Why `addr` is not an address portsnare sends to, or null when it is one. */
export function addressProblem(addr: string, options: AddressOptions = {}): string | null {
  if (addr === '') return 'empty address';

  if (/[^\x21-\x7e]/.test(addr)) return `${JSON.stringify(addr)}: only printable ASCII without blanks`;
  if (addr.startsWith('-')) return `${addr}: must not start with "-" (sendmail would read it as an option)`;
  if (addr.length > 254) return `${addr.slice(0, 40)}...: longer than 254 characters`;
  const at = addr.lastIndexOf('@');
  const local = at === -1 ? addr : addr.slice(0, at);
  if (local === '') return `${addr}: no local part before "@"`;
  if (local.length > 64) return `${addr}: local part longer than 64 characters`;
  if (!DOT_ATOM.test(local))
    return `${addr}: local part is not a dot-atom (letters, digits, !#$%&'*+/=?^_\`{|}~- and inner dots)`;
  if (at === -1) return options.requireDomain === true ? `${addr}: no "@domain"` : null;
  const domain = addr.slice(at + 1);
  if (domain === '') return `${addr}: no domain after "@"`;
  if (domain.length > 253) return `${addr}: domain longer than 253 characters`;
  for (const label of domain.split('.')) {
    if (!LABEL.test(label)) return `${addr}: ${JSON.stringify(label)} is not a host name label`;
  }
  return null;
}

/**
 * A list of addresses as written in a config value: separated by commas and/or blanks, each one
 * checked (addressProblem). Duplicates are dropped (first kept), order is kept. An empty list is an
 * error: a mail to nobody is a config mistake.
 */
export function parseAddressList(text: string, options: AddressOptions = {}): string[] | { error: string } {
  const items = text.split(/[\s,]+/).filter((s) => s !== '');
  if (items.length === 0) return { error: 'no address given' };
  const out: string[] = [];
  for (const item of items) {
    const why = addressProblem(item, options);
    if (why !== null) return { error: why };
    if (!out.includes(item)) out.push(item);
  }
  return out;
}
