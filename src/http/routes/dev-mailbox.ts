// Registered only when no MAIL_SERVER is configured; otherwise the paths are a 404.
// /dev/mailbox is a page for people (newest first, links clickable, the HTML
// part in a sandboxed frame); /dev/mailbox.json, or an Accept of
// application/json, gives the same messages to scripts.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CapturedMail, DevMailbox } from '../../mail/dev-mailbox.ts';
import type { Pages } from '../plugins/pages.ts';

// The frame shows mail HTML, which styles itself with style attributes; its
// document inherits this policy, so inline styles are allowed here and
// scripts still are not. The frame's sandbox blocks scripts a second time.
const devMailboxCsp = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src * data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function devMailboxRoutes(app: FastifyInstance, pages: Pages, mailbox: DevMailbox): void {
  app.get('/dev/mailbox.json', async function mailboxJson() {
    return asJson(mailbox);
  });

  app.get('/dev/mailbox', async function showMailbox(request, reply) {
    if (wantsJson(request)) return asJson(mailbox);
    const page = await pages.open(request, reply);
    reply.header('content-security-policy', devMailboxCsp);
    const dates = new Intl.DateTimeFormat(page.locale, { dateStyle: 'medium', timeStyle: 'medium' });
    return page.render('dev-mailbox', {
      messages: mailbox.list().map((m) => ({
        subject: m.subject,
        from: m.from,
        to: m.to,
        date: dates.format(m.date),
        text: textWithLinks(m.text),
        // Links in the frame open in a new tab: inside the frame our pages would refuse to load (frame-ancestors).
        html: `<base target="_blank">${m.html}`,
      })),
    });
  });
}

function asJson(mailbox: DevMailbox) {
  return { messages: mailbox.list().map(messageJson) };
}

function messageJson(m: CapturedMail) {
  return { message_id: m.messageId, date: m.date.toISOString(), from: m.from, to: m.to, subject: m.subject, text: m.text, html: m.html };
}

function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

/** The text part cut into plain runs and http(s) links, for the template to link without writing raw HTML. */
export function textWithLinks(text: string): { text?: string; href?: string }[] {
  const parts: { text?: string; href?: string }[] = [];
  let last = 0;
  for (const match of text.matchAll(/https?:\/\/[^\s<>"]+/g)) {
    parts.push({ text: text.slice(last, match.index) }, { href: match[0] });
    last = match.index + match[0].length;
  }
  parts.push({ text: text.slice(last) });
  return parts;
}
