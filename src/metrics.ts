// Prometheus metrics (prom-client), one registry per running instance so that
// several servers in one process (tests) keep their own counts.
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

export type MailOutcome = 'sent' | 'retried' | 'failed';

export type Metrics = {
  registry: Registry;
  mailDeliveries: Counter<'kind' | 'outcome'>;
  webhookDeliveries: Counter<'type' | 'outcome'>;
};

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'latchkey_' });
  const mailDeliveries = new Counter({
    name: 'latchkey_mail_deliveries_total',
    help: 'Outbox delivery attempts by message kind and outcome (sent, retried, failed).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  const webhookDeliveries = new Counter({
    name: 'latchkey_webhook_deliveries_total',
    help: 'Webhook delivery attempts by event type and outcome (delivered, retried, failed).',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });
  return { registry, mailDeliveries, webhookDeliveries };
}
