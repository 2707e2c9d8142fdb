// A webhook receiver on a real port that checks every delivery the way the
// Standard Webhooks specification tells a receiver to, written here from the
// specification and not imported from src/ (a product checked by its own
// signing code would be judged by itself):
//   signed content = `${webhook-id}.${webhook-timestamp}.${raw body}`
//   expected       = base64(HMAC-SHA256(base64-decoded secret after "whsec_", signed content))
//   webhook-signature holds space-separated `v<n>,<base64>`; one `v1` must match (constant time),
//   and webhook-timestamp must be within 5 minutes of now.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Delivery = {
  id: string;
  timestamp: number;
  /** Whether the signature verified (deliveries that do not are kept too, so a test sees them). */
  verified: boolean;
  body: { type: string; timestamp: string; data: Record<string, any> };
  raw: string;
  receivedAt: number;
  /** What the receiver answered. */
  status: number;
};

/** What the receiver answers to a delivery: a status (default 200), after an optional delay. */
export type Answer = (delivery: Delivery, attempt: number) => { status: number; delayMs?: number };

const toleranceSeconds = 5 * 60;

/** A fresh `whsec_` secret of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function verifyStandardWebhook(secret: string, headers: Record<string, string | string[] | undefined>, rawBody: string, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false;
  if (!secret.startsWith('whsec_')) return false;
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${rawBody}`).digest();
  return signatures.split(' ').some((entry) => {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || value === undefined) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export class WebhookReceiver {
  readonly secret: string;
  readonly deliveries: Delivery[] = [];
  answer: Answer = () => ({ status: 200 });
  #server: Server | undefined;
  #port = 0;
  readonly #attempts = new Map<string, number>();

  constructor(secret = newWebhookSecret()) {
    this.secret = secret;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hooks`;
  }

  /** Listens on `port` (a free one when 0; the same one again after stop(), to come back). */
  async start(port = this.#port): Promise<this> {
    const server = createServer((request, response) => void this.#handle(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening: connections are refused until start() again. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Deliveries answered 2xx, one per webhook-id (the first). */
  accepted(): Delivery[] {
    const seen = new Map<string, Delivery>();
    for (const delivery of this.deliveries) if (delivery.verified && delivery.status < 300 && !seen.has(delivery.id)) seen.set(delivery.id, delivery);
    return [...seen.values()];
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const id = String(request.headers['webhook-id'] ?? '');
    let body: Delivery['body'];
    try {
      body = JSON.parse(raw) as Delivery['body'];
    } catch {
      body = { type: '', timestamp: '', data: {} };
    }
    const delivery: Delivery = {
      id, timestamp: Number(request.headers['webhook-timestamp']), verified: verifyStandardWebhook(this.secret, request.headers, raw), body, raw, receivedAt: Date.now(), status: 0,
    };
    const attempt = (this.#attempts.get(id) ?? 0) + 1;
    this.#attempts.set(id, attempt);
    const { status, delayMs } = delivery.verified ? this.answer(delivery, attempt) : { status: 401 };
    if (delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, delayMs));
    delivery.status = status;
    this.deliveries.push(delivery);
    response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
  }
}
