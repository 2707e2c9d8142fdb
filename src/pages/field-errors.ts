// The flows explain a refused field in English, for the JSON API's `errors`.
// A page shows the same reason in the visitor's language: each known message
// maps to a string key (field_errors.*), its numbers and names carried over.
// A message not listed here is shown as the flow wrote it.
import type { FieldErrors } from '../errors.ts';
import type { Locale } from '../locale.ts';
import type { PageRenderer } from './render.ts';

const known: [RegExp, string][] = [
  [/^must be at least (?<n>\d+) characters$/, 'too_short'],
  [/^must be at most (?<n>\d+) characters$/, 'too_long'],
  [/^is one of the most common passwords/, 'common_password'],
  [/^must not contain "(?<name>.*)"$/s, 'contains_app_name'],
  [/^must not be your email address$/, 'is_email'],
  [/^must not contain control characters$/, 'control_characters'],
  [/^must have an ASCII part before the @$/, 'email_ascii'],
  [/^must be an email address/, 'email_invalid'],
  [/^is already your address$/, 'same_email'],
];

export function translateFieldErrors(renderer: PageRenderer, locale: Locale, errors: FieldErrors): Record<string, string> {
  return Object.fromEntries(Object.entries(errors).map(([field, message]) => [field, translateFieldError(renderer, locale, message)]));
}

export function translateFieldError(renderer: PageRenderer, locale: Locale, message: string): string {
  for (const [pattern, key] of known) {
    const match = pattern.exec(message);
    if (match === null) continue;
    let text = renderer.text(locale, `field_errors.${key}`);
    for (const [name, value] of Object.entries(match.groups ?? {})) text = text.replaceAll(`{${name}}`, value ?? '');
    return text;
  }
  return message;
}
