import type { FastifyInstance } from 'fastify';
import type { DevMailbox } from '../../mail/dev-mailbox.ts';

/** Registered only when no MAIL_SERVER is configured; otherwise the path is a 404. */
export async function devMailboxRoutes(app: FastifyInstance, mailbox: DevMailbox): Promise<void> {
  app.get('/dev/mailbox', async function listMailbox() {
    return {
      messages: mailbox.list().map((m) => ({
        message_id: m.messageId,
        date: m.date.toISOString(),
        from: m.from,
        to: m.to,
        subject: m.subject,
        text: m.text,
        html: m.html,
      })),
    };
  });
}
