// API.md's password rules, checked before any hashing.
import { dictionary } from '@zxcvbn-ts/language-common';

const maxLength = 128;
// Lower-cased once: the list is checked case-insensitively.
const commonPasswords = new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));

export type PasswordRules = { minLength: number; appName: string };

/** The form every password is hashed in: NFKC, so the same password typed two ways matches. */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Returns the reason the password is refused, or undefined when it is acceptable. */
export function checkPassword(password: string, rules: PasswordRules, emails: string[]): string | undefined {
  // A cheap bound first: no code point takes more than 2 UTF-16 units, and NFKC
  // expands a character at most 18-fold, so a huge input is refused unread.
  if (password.length > maxLength * 2 * 18) return `must be at most ${maxLength} characters`;
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  if (length < rules.minLength) return `must be at least ${rules.minLength} characters`;
  if (length > maxLength) return `must be at most ${maxLength} characters`;
  const lower = normalized.toLowerCase();
  if (commonPasswords.has(lower)) return 'is one of the most common passwords; choose another';
  if (rules.appName.length > 0 && lower.includes(rules.appName.toLowerCase())) return `must not contain "${rules.appName}"`;
  if (emails.some((e) => e.toLowerCase() === lower)) return 'must not be your email address';
  return undefined;
}
