// Composition root: config → logger, store, rate limits, mail → HTTP server
// and outbox worker. Every part is made here and handed to what uses it, and
// both ways of running (`serve`, `worker`) stop their parts in one order.
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { startManagement, type Management } from './http/management/listener.ts';
import { buildServer } from './http/server.ts';
import { createLogger, type Logger } from './log.ts';
import { DevMailbox } from './mail/dev-mailbox.ts';
import { Outbox, outboxSecretBox } from './mail/outbox.ts';
import { MailRenderer } from './mail/render.ts';
import { devMailboxTransport, smtpTransport, type MailTransport } from './mail/transport.ts';
import { mailWorker } from './mail/mail-delivery.ts';
import type { OutboxWorker } from './mail/worker.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { RequestPressure } from './request-pressure.ts';
import { Pruner } from './retention.ts';
import { configureHashing } from './security/password-hash.ts';
import { createRateLimits, type RateLimits } from './security/rate-limits.ts';
import { resolveSecretKey } from './security/secret-key.ts';
import { openStore, type Store } from './store/store.ts';
import { webhookWorker } from './webhooks/delivery.ts';

/** Where mail goes: the SMTP server, or with no MAIL_SERVER the dev mailbox (which the pages show). */
export function createTransport(config: Config): { transport: MailTransport; devMailbox: DevMailbox | undefined } {
  if (config.smtp !== undefined) return { transport: smtpTransport(config.smtp), devMailbox: undefined };
  const devMailbox = new DevMailbox();
  return { transport: devMailboxTransport(devMailbox), devMailbox };
}

export type Mail = {
  outbox: Outbox;
  /** The mail worker, and with WEBHOOK_URL the webhook deliveries' own one: started and stopped together. */
  worker: Workers;
  transport: MailTransport;
};

/** The outbox's workers, one per delivery kind, as one. */
export class Workers {
  readonly all: OutboxWorker[];
  constructor(all: OutboxWorker[]) {
    this.all = all;
  }
  async start(): Promise<void> {
    for (const worker of this.all) await worker.start();
  }
  wake(): void {
    for (const worker of this.all) worker.wake();
  }
  async stop(): Promise<void> {
    await Promise.all(this.all.map((worker) => worker.stop()));
  }
}

export type MailOptions = {
  /** The transport to send through; one from createTransport when not given. */
  transport?: MailTransport;
  log?: Logger;
  /** True while request handling has the process saturated (RequestPressure): mail steps aside. */
  busy?: () => boolean;
};

/** The mail side of a store: the outbox that flows write to, and the worker that delivers it. */
export function createMail(config: Config, store: Store, metrics: Metrics, options: MailOptions = {}): Mail {
  const transport = options.transport ?? createTransport(config).transport;
  const secretBox = outboxSecretBox(resolveSecretKey(config));
  const mail = mailWorker(store, transport, new MailRenderer(config), {
    sender: config.mailSender,
    secretBox,
    log: options.log,
    busy: options.busy,
    count: (row, outcome) => metrics.mailDeliveries.inc({ kind: row.kind, outcome }),
  });
  const webhooks = config.webhook && webhookWorker(store, config.webhook, {
    secretBox,
    log: options.log,
    busy: options.busy,
    // A webhook row's recipient is its event type (Outbox.enqueueWebhook).
    count: (row, outcome) => metrics.webhookDeliveries.inc({ type: row.recipient, outcome: outcome === 'sent' ? 'delivered' : outcome }),
  });
  const worker = new Workers(webhooks === undefined ? [mail] : [mail, webhooks]);
  return { outbox: new Outbox(config.baseUrl.hostname, secretBox), worker, transport };
}

export type Running = {
  app: FastifyInstance;
  store: Store;
  /** The address it listens on, e.g. http://127.0.0.1:3000 */
  address: string;
  /** The management listener's address (/metrics, /health), e.g. http://127.0.0.1:9464; undefined with MANAGEMENT_PORT=off. */
  managementAddress: string | undefined;
  stop(): Promise<void>;
};

/** `latchkey serve`: migrate, then answer HTTP and deliver mail in one process. */
export async function serve(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Running> {
  configureHashing({ queueMax: config.hashQueueMax });
  const parts: Parts = { store: openStore(config.database) };
  try {
    await parts.store.migrate();
    const metrics = createMetrics();
    const limits = parts.limits = await createRateLimits(config, (error) => {
      log.warn({ err: error }, 'Redis unreachable: rate limits are counted by this instance alone until it is back');
    });
    const { transport, devMailbox } = createTransport(config);
    parts.transport = transport;
    const mail = createMail(config, parts.store, metrics, { transport, log, busy: () => parts.pressure?.busy ?? false });
    parts.worker = mail.worker;
    // Metrics are not the public server's: the management listener serves them.
    const app = parts.app = await buildServer({ store: parts.store, outbox: mail.outbox, config, limits, logger: log, devMailbox });
    parts.pressure = new RequestPressure(app.server);
    parts.management = await startManagementFor(config, parts.store, metrics, log);
    const address = await app.listen({ port: config.port, host: config.host });
    await mail.worker.start();
    parts.pruner = new Pruner(parts.store, config, log);
    parts.pruner.start();
    return { app, store: parts.store, address, managementAddress: parts.management?.address, stop: () => stopParts(parts) };
  } catch (error) {
    await stopParts(parts);
    throw error;
  }
}

export type RunningWorker = {
  /** As Running.managementAddress: a worker's delivery counters live in its own process. */
  managementAddress: string | undefined;
  stop(): Promise<void>;
};

/** `latchkey worker`: delivers the outbox beside a `serve` on the same database, with a management listener of its own. */
export async function runWorker(config: Config, log: Logger = createLogger(config.logLevel)): Promise<RunningWorker> {
  const parts: Parts = { store: openStore(config.database) };
  try {
    await parts.store.migrate();
    const metrics = createMetrics();
    const mail = createMail(config, parts.store, metrics, { log });
    parts.transport = mail.transport;
    parts.worker = mail.worker;
    parts.management = await startManagementFor(config, parts.store, metrics, log);
    await mail.worker.start();
    return { managementAddress: parts.management?.address, stop: () => stopParts(parts) };
  } catch (error) {
    await stopParts(parts);
    throw error;
  }
}

/** What a running process holds; a part is absent until it has started. */
type Parts = {
  store: Store;
  management?: Management | undefined;
  app?: FastifyInstance;
  pressure?: RequestPressure;
  worker?: Workers;
  pruner?: Pruner;
  transport?: MailTransport;
  limits?: RateLimits;
};

/**
 * The one stop order: no new requests first, then the mail in flight (its
 * leases handed back after the grace period), then what both were using.
 */
async function stopParts(parts: Parts): Promise<void> {
  await parts.management?.close();
  await parts.app?.close();
  parts.pressure?.stop();
  await parts.worker?.stop();
  await parts.pruner?.stop();
  parts.transport?.close();
  await parts.limits?.close();
  await parts.store.close();
}

/** The management listener (/metrics, /health) when MANAGEMENT_PORT is not off; `serve` and `worker` each run one. */
function startManagementFor(config: Config, store: Store, metrics: Metrics, log: Logger): Promise<Management | undefined> {
  if (config.management === undefined) return Promise.resolve(undefined);
  return startManagement({ listen: config.management, store, metrics, redisUrl: config.redisUrl, log });
}
