// Renders the HTML pages from LiquidJS templates (one layout, one file per
// page) with output escaping on, in the visitor's language: every word a page
// shows comes from strings/<locale>.json. TEMPLATES_DIR/pages/ is searched
// before the built-in folder, so an operator can replace any one template,
// the stylesheet, or some strings of a language, and keep the rest.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Liquid } from 'liquidjs';
import type { Config } from '../../config.ts';
import { fillIn, type FieldErrors } from '../../field-errors.ts';
import { locales, type Locale } from '../../locale.ts';

export const builtInPagesDir = fileURLToPath(new URL('./templates/', import.meta.url));

/** A language's strings: nested objects of text, read by templates as `t.login.title`. */
export type Strings = { [key: string]: string | Strings };

export type Stylesheet = { css: string; href: string };

export class PageRenderer {
  readonly #liquid: Liquid;
  readonly #strings: Record<Locale, Strings>;
  readonly stylesheet: Stylesheet;

  constructor(config: Pick<Config, 'templatesDir' | 'brandColor'>, builtInDir = builtInPagesDir) {
    const dirs = config.templatesDir === undefined ? [builtInDir] : [join(config.templatesDir, 'pages'), builtInDir];
    this.#liquid = new Liquid({ root: dirs, extname: '.liquid', cache: true, strictFilters: true, outputEscape: 'escape' });
    // Read once at start-up: a broken override file stops start-up instead of a page.
    this.#strings = Object.fromEntries(locales.map((locale) => {
      const layers = dirs.map((dir) => join(dir, 'strings', `${locale}.json`)).filter((path) => existsSync(path)).reverse();
      return [locale, layers.reduce<Strings>((merged, path) => merge(merged, JSON.parse(readFileSync(path, 'utf8')) as Strings), {})];
    })) as Record<Locale, Strings>;
    const file = dirs.map((dir) => join(dir, 'style.css')).find((path) => existsSync(path))!;
    // BRAND_COLOR reaches the pages as a CSS variable, so the stylesheet stays a static, cacheable file.
    const css = `:root { --brand: ${config.brandColor}; }\n${readFileSync(file, 'utf8')}`;
    this.stylesheet = { css, href: `/assets/style.css?v=${createHash('sha256').update(css).digest('hex').slice(0, 12)}` };
  }

  strings(locale: Locale): Strings {
    return this.#strings[locale];
  }

  /** A string by its dotted key, e.g. "flash.logged_out"; the key itself when missing, so a gap shows instead of breaking. */
  text(locale: Locale, key: string): string {
    let node: string | Strings | undefined = this.#strings[locale];
    for (const part of key.split('.')) node = typeof node === 'object' ? node[part] : undefined;
    return typeof node === 'string' ? node : key;
  }

  /** Why each field was refused, in the page's language (`field_errors.<code>`, with the error's values filled in). */
  fieldErrors(locale: Locale, errors: FieldErrors): Record<string, string> {
    return Object.fromEntries(Object.entries(errors).map(([field, error]) => [field, fillIn(this.text(locale, `field_errors.${error.code}`), error)]));
  }

  render(template: string, locale: Locale, values: Record<string, unknown>): Promise<string> {
    return this.#liquid.renderFile(template, { ...values, lang: locale, t: this.#strings[locale] });
  }
}

/** `over` on top of `base`, object by object: an override file needs only the strings it changes. */
function merge(base: Strings, over: Strings): Strings {
  const result: Strings = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (key === '__proto__') continue;
    const under = result[key];
    result[key] = typeof value === 'object' && typeof under === 'object' ? merge(under, value) : value;
  }
  return result;
}
