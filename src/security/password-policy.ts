// API.md's password rules, checked before any hashing.
import { createRequire } from 'node:module';
import type { FieldError } from '../field-errors.ts';

const maxLength = 128;
const require = createRequire(import.meta.url);
let common: Set<string> | undefined;

/**
 * The common-password list, read on the first password checked: it is ~3 MB of
 * heap that a process answering log-ins, resets and authz never needs (only
 * sign-up and password changes check it). Lower-cased once: the list is
 * checked case-insensitively.
 */
function commonPasswords(): Set<string> {
  common ??= new Set((require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common')).dictionary['passwords-common'].map((p) => p.toLowerCase()));
  return common;
}

export type PasswordRules = { minLength: number; appName: string };

/** The form every password is hashed in: NFKC, so the same password typed two ways matches. */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Returns the reason the password is refused, or undefined when it is acceptable. */
export function checkPassword(password: string, rules: PasswordRules, emails: string[]): FieldError | undefined {
  // A cheap bound first: no code point takes more than 2 UTF-16 units, and NFKC
  // expands a character at most 18-fold, so a huge input is refused unread.
  if (password.length > maxLength * 2 * 18) return { code: 'too_long', max: maxLength };
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  if (length < rules.minLength) return { code: 'too_short', min: rules.minLength };
  if (length > maxLength) return { code: 'too_long', max: maxLength };
  const lower = normalized.toLowerCase();
  if (commonPasswords().has(lower)) return { code: 'common_password' };
  if (rules.appName.length > 0 && lower.includes(rules.appName.toLowerCase())) return { code: 'contains_app_name', name: rules.appName };
  if (emails.some((e) => e.toLowerCase() === lower)) return { code: 'is_email' };
  return undefined;
}
