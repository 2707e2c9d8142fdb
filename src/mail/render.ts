// Renders a message from its LiquidJS templates: a subject, a text part and
// an HTML part. The HTML engine escapes every output, so a name like
// "<b>Eve</b>" shows as text; the subject is folded to one line so no value
// can reach another header.
import { fileURLToPath } from 'node:url';
import { Liquid } from 'liquidjs';
import type { MessageKind, MessageParams } from './messages.ts';

export const defaultTemplatesDir = fileURLToPath(new URL('./templates/', import.meta.url));

export type RenderedMessage = { subject: string; text: string; html: string };

export type RenderContext = {
  appName: string;
  baseUrl: URL;
};

export class MailRenderer {
  readonly #html: Liquid;
  readonly #text: Liquid;
  readonly #context: RenderContext;

  constructor(context: RenderContext, templatesDir = defaultTemplatesDir) {
    const options = { root: [templatesDir], cache: true, strictFilters: true };
    this.#html = new Liquid({ ...options, outputEscape: 'escape' });
    this.#text = new Liquid(options);
    this.#context = context;
  }

  /** `createdAt` is when the message was enqueued, to say how long its link lasts. */
  async render(kind: MessageKind, params: MessageParams, createdAt: number): Promise<RenderedMessage> {
    const base = this.#context.baseUrl.href.replace(/\/$/, '');
    const values = {
      ...params,
      app_name: this.#context.appName,
      base_url: base,
      forgot_password_link: `${base}/forgot-password`,
      valid_for: params.expires_at === undefined ? undefined : describeDuration(Date.parse(params.expires_at) - createdAt),
    };
    const [subject, text, html] = await Promise.all([
      this.#text.renderFile(`${kind}.subject.liquid`, values),
      this.#text.renderFile(`${kind}.txt.liquid`, values),
      this.#html.renderFile(`${kind}.html.liquid`, values),
    ]);
    return {
      subject: `${this.#context.appName}: ${subject.replace(/[\r\n\t]+/g, ' ').trim()}`.replace(/[\r\n]/g, ''),
      text,
      html,
    };
  }
}

/** "1 hour", "24 hours", "15 minutes": the largest unit that divides the span exactly. */
export function describeDuration(milliseconds: number): string {
  const seconds = Math.max(1, Math.round(milliseconds / 1000));
  const units: [number, string][] = [[86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']];
  const [size, unit] = units.find(([size]) => seconds % size === 0 && seconds >= size)!;
  const count = seconds / size;
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}
