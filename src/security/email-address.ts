// API.md's canonical address: trimmed, domain lower-cased through IDNA, local
// part lower-cased in ASCII only. Non-ASCII local parts are refused rather
// than folded: folding (ı → i, ſ → s, K → k) is how look-alike addresses
// end up matching somebody else's account.
import { domainToASCII } from 'node:url';

export type EmailAddress = {
  /** As typed, trimmed: for display and sending. */
  display: string;
  canonical: string;
};

// Printable ASCII a mailbox may use unquoted (RFC 5322 dot-atom text).
const localPart = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const domainLabel = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Returns the parsed address, or the reason it is refused. */
export function parseEmail(input: string): EmailAddress | string {
  const display = input.trim();
  if (display.length > 254) return 'must be at most 254 characters';
  // IDNA drops CR, LF and tab from a domain, so "a@exa\r\nmple.com" would share
  // the canonical form of a@example.com while its mail went to "a@exa".
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(display)) return 'must not contain control characters';
  const at = display.lastIndexOf('@');
  if (at <= 0 || at === display.length - 1) return 'must be an email address like name@example.com';
  const local = display.slice(0, at);
  const domain = display.slice(at + 1);
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(local)) return 'must have an ASCII part before the @';
  if (local.length > 64 || !localPart.test(local)) return 'must be an email address like name@example.com';
  const asciiDomain = domainToASCII(domain).toLowerCase();
  const labels = asciiDomain.split('.');
  if (asciiDomain === '' || labels.length < 2 || !labels.every((l) => domainLabel.test(l)) || /^\d+$/.test(labels.at(-1)!)) {
    return 'must be an email address with a valid domain';
  }
  return { display, canonical: `${local.toLowerCase()}@${asciiDomain}` };
}
