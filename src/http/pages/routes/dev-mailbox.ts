// Registered only when no MAIL_SERVER is configured; otherwise the paths are a 404.
// /dev/mailbox is a page for people (newest first, links clickable, the HTML
// part in a sandboxed frame); /dev/mailbox.json, or an Accept of
// application/json, gives the same messages to scripts. It holds every live
// link, so it exists for clients on this machine only: for anyone else the
// routes do not match and the answer is the 404 of a path that does not exist.
import type { IncomingMessage } from 'node:http';
import { BlockList } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CapturedMail, DevMailbox } from '../../../mail/dev-mailbox.ts';
import type { Pages } from '../context.ts';

// The frame shows mail HTML, which styles itself with style attributes; its
// document inherits this policy, so inline styles are allowed here and
// scripts still are not. The frame's sandbox blocks scripts a second time.
const devMailboxCsp = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src * data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function devMailboxRoutes(app: FastifyInstance, pages: Pages, mailbox: DevMailbox): void {
  app.addConstraintStrategy(clientConstraint);
  const onThisMachine = { constraints: { client: 'loopback' } };

  app.get('/dev/mailbox.json', onThisMachine, async function mailboxJson() {
    return asJson(mailbox);
  });

  app.get('/dev/mailbox', onThisMachine, async function showMailbox(request, reply) {
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

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** An IPv4 or IPv6 (also IPv4-mapped) address on this machine's loopback. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  try {
    // BlockList matches ::ffff:127.0.0.1 against the IPv4 subnet itself.
    return loopback.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
  } catch {
    return false;
  }
}

/**
 * Routes constrained to `client: 'loopback'` match only when the connection
 * and every client it speaks for are on this machine. Behind a proxy here the
 * socket is loopback while X-Forwarded-For names the remote client; whether
 * TRUST_PROXY believes the header or not, request.ip is one of these
 * addresses, so all of them must be loopback. A request from elsewhere finds
 * no route: the same 404 as any unknown path, with no hint that one exists.
 */
type ConstraintStrategy = Parameters<FastifyInstance['addConstraintStrategy']>[0];
type Handler = NonNullable<ReturnType<ReturnType<ConstraintStrategy['storage']>['get']>>;
const clientConstraint: ConstraintStrategy = {
  name: 'client',
  storage() {
    const handlers = new Map<unknown, Handler>();
    return { get: (value) => handlers.get(value) ?? null, set: (value, handler) => { handlers.set(value, handler); } };
  },
  deriveConstraint: (request: IncomingMessage) => (isLoopbackClient(request) ? 'loopback' : 'remote'),
};

function isLoopbackClient(request: IncomingMessage): boolean {
  const forwarded = String(request.headers['x-forwarded-for'] ?? '').split(',').map((hop) => hop.trim()).filter((hop) => hop !== '');
  return [request.socket.remoteAddress, ...forwarded].every(isLoopbackAddress);
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
