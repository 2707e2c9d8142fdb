// Delivers webhook rows of the outbox (API.md, Events and webhooks): a signed
// POST of the sealed payload. A 2xx answer delivers it; 408, 429, 5xx, a
// timeout or a refused connection is retried by the worker with backoff until
// the row's 3-day expiry; any other answer (3xx included: redirects are not
// followed) fails it for the operator (`latchkey outbox list --status failed`).
import { webhookKind } from '../mail/outbox.ts';
import { OutboxWorker, type Delivery, type WorkerOptions } from '../mail/worker.ts';
import type { Store } from '../store/store.ts';
import { signWebhook } from './signature.ts';

const timeoutMs = 10_000;

/** The receiver's answer, when it is not a 2xx. */
export class WebhookRefused extends Error {
  readonly status: number;
  constructor(status: number, body: string) {
    super(`HTTP ${status}${body === '' ? '' : `: ${body}`}`);
    this.status = status;
  }
}

/** fetch says "fetch failed" for everything; the operator wants the reason (ECONNREFUSED, a timeout). */
function unreachable(error: unknown): Error {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' });
  return Object.assign(new Error(e.cause?.message ?? e.message ?? 'fetch failed'), { code: e.cause?.code });
}

const answerChars = 200;

/** The first `chars` characters of the body; the rest is not read (the connection is closed instead of reused). */
async function answerStart(response: Response, chars: number): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    // A UTF-8 character is at most 4 bytes.
    while (bytes < chars * 4) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      bytes += value.byteLength;
    }
  } catch {
    // A body cut off (or past the timeout) keeps what came.
  } finally {
    await reader.cancel().catch(() => {});
  }
  return [...Buffer.concat(chunks).toString('utf8')].slice(0, chars).join('');
}

function isRetriedStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export function webhookDelivery(webhook: { url: string; secret: Buffer }): Delivery {
  return {
    noun: 'webhook',
    async send(row, params, now) {
      const body = JSON.stringify(params);
      // The event id is the webhook-id: the same on every attempt, so a receiver can drop repeats.
      const headers = signWebhook(webhook.secret, row.message_id, Math.floor(now / 1000), body);
      const response = await fetch(webhook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Latchkey-Webhooks', ...headers },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      }).catch((error: unknown) => { throw unreachable(error); });
      // Read a little of the body, kept for the operator: never all of it, which a receiver could stream without end.
      const answer = await answerStart(response, answerChars);
      if (response.status < 200 || response.status > 299) throw new WebhookRefused(response.status, answer);
      return `HTTP ${response.status}`;
    },
    isPermanent: (error) => error instanceof WebhookRefused && !isRetriedStatus(error.status),
  };
}

/**
 * The worker for webhook rows alone, beside the mail worker: its own slots,
 * so a slow or dead receiver holds up no mail (and a mail outage no webhook).
 */
export function webhookWorker(store: Store, webhook: { url: string; secret: Buffer }, options: WorkerOptions): OutboxWorker {
  return new OutboxWorker(store, webhookDelivery(webhook), { concurrency: 16, ...options, kinds: { only: [webhookKind] } });
}
