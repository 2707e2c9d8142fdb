// The outbox worker's mail: renders each message in its language and sends
// it through the transport (SMTP, or the dev mailbox); the transport tells a
// permanent refusal from a temporary one.
import type { Store } from '../store/store.ts';
import { webhookKind } from './outbox.ts';
import type { MessageKind, MessageParams } from './messages.ts';
import type { MailRenderer } from './render.ts';
import { isPermanentFailure, type MailTransport } from './transport.ts';
import { OutboxWorker, type Delivery, type WorkerOptions } from './worker.ts';

export function mailDelivery(transport: MailTransport, renderer: MailRenderer, sender: string): Delivery {
  return {
    noun: 'mail',
    async send(row, params, now) {
      const rendered = renderer.render(row.kind as MessageKind, params as MessageParams, row.created_at);
      return transport.send({ from: sender, to: row.recipient, ...rendered, messageId: row.message_id, date: new Date(now) });
    },
    isPermanent: isPermanentFailure,
  };
}

/** The worker that sends the outbox's mail: every row but webhook deliveries. */
export function mailWorker(store: Store, transport: MailTransport, renderer: MailRenderer, options: WorkerOptions & { sender: string }): OutboxWorker {
  return new OutboxWorker(store, mailDelivery(transport, renderer, options.sender), { ...options, kinds: { except: [webhookKind] } });
}
