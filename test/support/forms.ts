// A browser without a browser: fetch with a cookie jar and no redirect
// following, for asserting the exact status, headers and cookies of each page.
// `submit` does what a person does: opens the form page, then posts the form
// with the `_csrf` value it carried.
import assert from 'node:assert/strict';

export type PageResponse = { status: number; headers: Headers; text: string; setCookies: string[]; location: string | null };

export class FormClient {
  readonly base: string;
  readonly cookies = new Map<string, string>();
  readonly headers: Record<string, string>;

  constructor(base: string, headers: Record<string, string> = {}) {
    this.base = base;
    this.headers = headers;
  }

  get(path: string, headers: Record<string, string> = {}): Promise<PageResponse> {
    return this.#send('GET', path, undefined, headers);
  }

  post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<PageResponse> {
    return this.#send('POST', path, new URLSearchParams(fields).toString(), { 'content-type': 'application/x-www-form-urlencoded', ...headers });
  }

  /** GET `page`, then POST `fields` to the action of its form that posts to `action` (default: the page's path), with that form's _csrf. */
  async submit(page: string, fields: Record<string, string>, action = new URL(page, this.base).pathname): Promise<PageResponse> {
    const form = await this.get(page);
    assert.equal(form.status, 200, `GET ${page}: ${form.status} ${form.text.slice(0, 300)}`);
    return this.post(action, { _csrf: csrfOf(form.text, action), ...fields });
  }

  /** A GET of the redirect target, as a browser would do after a 303. */
  async follow(response: PageResponse): Promise<PageResponse> {
    assert.equal(response.status, 303, `expected a redirect, got ${response.status}: ${response.text.slice(0, 300)}`);
    return this.get(response.location!);
  }

  async #send(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<PageResponse> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(new URL(path, this.base), {
      method,
      body,
      redirect: 'manual',
      headers: { ...this.headers, ...headers, ...(cookie === '' ? {} : { cookie }) },
    });
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) <= Date.now()));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(at + 1).trim());
    }
    return { status: response.status, headers: response.headers, text: await response.text(), setCookies, location: response.headers.get('location') };
  }
}

/** The _csrf value of the form posting to `action` on an HTML page. */
export function csrfOf(html: string, action: string): string {
  const form = [...html.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/g)].map((m) => m[0]).find((f) => f.includes(`action="${action}"`));
  assert.ok(form !== undefined, `no form posting to ${action}`);
  const value = /name="_csrf" value="([^"]+)"/.exec(form)?.[1];
  assert.ok(value !== undefined, `the form posting to ${action} has no _csrf field`);
  return value;
}

/** The Set-Cookie line for `name`, parsed into its attributes (lower-cased names). */
export function setCookie(response: PageResponse, name: string): { value: string; attributes: Map<string, string> } | undefined {
  const line = response.setCookies.find((l) => l.startsWith(`${name}=`));
  if (line === undefined) return undefined;
  const [pair = '', ...rest] = line.split(';');
  const attributes = new Map(rest.map((a) => {
    const [key = '', ...value] = a.trim().split('=');
    return [key.toLowerCase(), value.join('=')] as [string, string];
  }));
  return { value: pair.slice(name.length + 1), attributes };
}

/** The text of an HTML page without tags, with whitespace collapsed: what a reader sees. */
export function visibleText(html: string): string {
  return html.replace(/<[^>]+>/g, ' ').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;|&#34;/g, '"').replace(/&#39;/g, "'").replace(/\s+/g, ' ').trim();
}
