// The languages every page and email comes in, and how a request picks one.
// Kept apart from HTTP so flows can store an account's language too.

export const locales = ['en', 'zh-CN', 'ru'] as const;
export type Locale = (typeof locales)[number];
export const defaultLocale: Locale = 'en';

/**
 * A supported locale for a language tag, or undefined. Any Chinese tag gets
 * Simplified Chinese and any Russian tag Russian: a near language reads better
 * than English for most of those readers.
 */
export function matchLocale(tag: string | undefined): Locale | undefined {
  const primary = tag?.trim().toLowerCase().split(/[-_]/)[0];
  if (primary === 'zh') return 'zh-CN';
  if (primary === 'ru') return 'ru';
  if (primary === 'en') return 'en';
  return undefined;
}

/** The best supported locale of an Accept-Language header, by its q-values; undefined when none fits. */
export function negotiateLocale(acceptLanguage: string | undefined): Locale | undefined {
  if (acceptLanguage === undefined) return undefined;
  let best: { locale: Locale; q: number } | undefined;
  for (const entry of acceptLanguage.split(',').slice(0, 20)) {
    const [tag, ...parameters] = entry.split(';');
    const qParameter = parameters.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParameter === undefined ? 1 : Number(qParameter.slice(2));
    const locale = matchLocale(tag);
    // Ties keep the earlier entry: the header's own order breaks them.
    if (locale !== undefined && Number.isFinite(q) && q > 0 && (best === undefined || q > best.q)) best = { locale, q };
  }
  return best?.locale;
}

export function isLocale(value: unknown): value is Locale {
  return locales.includes(value as Locale);
}
