// Renders a message from its LiquidJS templates: a subject, a text part and
// an HTML part, in the account's language (templates/<locale>/<kind>.*). The
// HTML engine escapes every output, so a name like "<b>Eve</b>" shows as
// text; the subject is folded to one line so no value can reach another
// header. TEMPLATES_DIR/mail/ is searched first, so an operator can replace
// any one file and keep the rest.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Liquid } from 'liquidjs';
import { defaultLocale, isLocale, type Locale } from '../locale.ts';
import type { MessageKind, MessageParams } from './messages.ts';

export const defaultTemplatesDir = fileURLToPath(new URL('./templates/', import.meta.url));

export type RenderedMessage = { subject: string; text: string; html: string };

export type RenderContext = {
  appName: string;
  baseUrl: URL;
  /** Overrides: TEMPLATES_DIR, whose mail/ folder is searched before the built-in templates. */
  templatesDir?: string | undefined;
  logoUrl?: string | undefined;
  brandColor?: string;
};

export class MailRenderer {
  readonly #html: Liquid;
  readonly #text: Liquid;
  readonly #context: RenderContext;

  constructor(context: RenderContext, builtInDir = defaultTemplatesDir) {
    const root = context.templatesDir === undefined ? [builtInDir] : [join(context.templatesDir, 'mail'), builtInDir];
    const options = { root, cache: true, strictFilters: true };
    this.#html = new Liquid({ ...options, outputEscape: 'escape' });
    this.#text = new Liquid(options);
    this.#context = context;
  }

  /**
   * `createdAt` is when the message was enqueued, to say how long its link lasts.
   * Synchronous: the templates are parsed once and cached, so a render is pure
   * work, and LiquidJS's asynchronous form costs a promise per tag and output
   * (its driver was 8 % of a mail drain's CPU profile).
   */
  render(kind: MessageKind, params: MessageParams, createdAt: number): RenderedMessage {
    const locale = isLocale(params.locale) ? params.locale : defaultLocale;
    const base = this.#context.baseUrl.href.replace(/\/$/, '');
    const values = {
      ...params,
      app_name: this.#context.appName,
      base_url: base,
      logo_url: this.#context.logoUrl,
      brand_color: this.#context.brandColor ?? '#2563eb',
      forgot_password_link: `${base}/forgot-password`,
      valid_for: params.expires_at === undefined ? undefined : describeDuration(Date.parse(params.expires_at) - createdAt, locale),
    };
    const subject: string = this.#text.renderFileSync(`${locale}/${kind}.subject.liquid`, values);
    const text: string = this.#text.renderFileSync(`${locale}/${kind}.txt.liquid`, values);
    const html: string = this.#html.renderFileSync(`${locale}/${kind}.html.liquid`, values);
    return {
      subject: `${this.#context.appName}: ${subject.replace(/[\r\n\t]+/g, ' ').trim()}`.replace(/[\r\n]/g, ''),
      text,
      html,
    };
  }
}

/** "1 hour", "24 часа", "15分钟": the largest unit that divides the span exactly, in the reader's language. */
export function describeDuration(milliseconds: number, locale: Locale = defaultLocale): string {
  const seconds = Math.max(1, Math.round(milliseconds / 1000));
  const units: [number, string][] = [[86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']];
  const [size, unit] = units.find(([size]) => seconds % size === 0 && seconds >= size)!;
  return durationFormat(locale, unit).format(seconds / size);
}

// Building an Intl formatter costs tens of microseconds; every message needs one of a dozen.
const durationFormats = new Map<string, Intl.NumberFormat>();
function durationFormat(locale: Locale, unit: string): Intl.NumberFormat {
  const key = `${locale} ${unit}`;
  let format = durationFormats.get(key);
  if (format === undefined) {
    format = new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' });
    durationFormats.set(key, format);
  }
  return format;
}
