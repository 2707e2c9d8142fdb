// API.md's canonical address: trimmed, domain lower-cased through IDNA, local
// part lower-cased in ASCII only. Non-ASCII local parts are refused rather
// than folded: folding (ı → i, ſ → s, K → k) is how look-alike addresses
// end up matching somebody else's account.
import { domainToASCII } from 'node:url';
import type { FieldError } from '../field-errors.ts';

export type EmailAddress = {
  /** As typed, trimmed: for display and sending. */
  display: string;
  canonical: string;
};

// Printable ASCII a mailbox may use unquoted (RFC 5322 dot-atom text).
const localPart = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const domainLabel = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Returns the parsed address, or the reason it is refused. */
export function parseEmail(input: string): EmailAddress | FieldError {
  const display = input.trim();
  if (display.length > 254) return { code: 'too_long', max: 254 };
  // IDNA drops CR, LF and tab from a domain, so "a@exa\r\nmple.com" would share
  // the canonical form of a@example.com while its mail went to "a@exa".
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(display)) return { code: 'control_characters' };
  const at = display.lastIndexOf('@');
  if (at <= 0 || at === display.length - 1) return { code: 'email_invalid' };
  const local = display.slice(0, at);
  const domain = display.slice(at + 1);
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(local)) return { code: 'email_ascii' };
  if (local.length > 64 || !localPart.test(local)) return { code: 'email_invalid' };
  const asciiDomain = domainToASCII(domain).toLowerCase();
  const labels = asciiDomain.split('.');
  if (asciiDomain === '' || labels.length < 2 || !labels.every((l) => domainLabel.test(l)) || /^\d+$/.test(labels.at(-1)!)) {
    return { code: 'email_domain' };
  }
  return { display, canonical: `${local.toLowerCase()}@${asciiDomain}` };
}
