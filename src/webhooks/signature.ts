// Standard Webhooks signing (https://www.standardwebhooks.com): the receiver
// recomputes HMAC-SHA256 over `${webhook-id}.${webhook-timestamp}.${body}`
// under the secret's decoded bytes (WEBHOOK_SECRET `whsec_<base64>`, parsed in
// config) and compares it with the `v1,<base64>` in webhook-signature.
import { createHmac } from 'node:crypto';

export type WebhookHeaders = { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string };

export function signWebhook(secret: Buffer, id: string, timestampSeconds: number, body: string): WebhookHeaders {
  const signature = createHmac('sha256', secret).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` };
}
