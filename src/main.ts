// Composition root: config → store → mail → HTTP server and outbox worker.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { DevMailbox } from './mail/dev-mailbox.ts';
import { Outbox, outboxSecretBox } from './mail/outbox.ts';
import { MailRenderer } from './mail/render.ts';
import { devMailboxTransport, smtpTransport, type MailTransport } from './mail/transport.ts';
import { OutboxWorker, type WorkerLog } from './mail/worker.ts';
import { startManagement, type Management } from './http/management/listener.ts';
import { buildServer } from './http/server.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { RequestPressure } from './request-pressure.ts';
import { Pruner } from './retention.ts';
import { configureHashing } from './security/password-hash.ts';
import { resolveSecretKey } from './security/secret-key.ts';
import { openStore, type Store } from './store/store.ts';

export type Mail = {
  outbox: Outbox;
  transport: MailTransport;
  worker: OutboxWorker;
  devMailbox: DevMailbox | undefined;
};

/** The mail side for a store: transport (SMTP, or the dev mailbox with no MAIL_SERVER), renderer and worker. */
export function createMail(config: Config, store: Store, metrics: Metrics, log?: WorkerLog, busy?: () => boolean): Mail {
  const devMailbox = config.smtp === undefined ? new DevMailbox() : undefined;
  const transport = config.smtp === undefined ? devMailboxTransport(devMailbox!) : smtpTransport(config.smtp);
  const renderer = new MailRenderer(config);
  const secretBox = outboxSecretBox(resolveSecretKey(config));
  const worker = new OutboxWorker(store, transport, renderer, {
    sender: config.mailSender,
    secretBox,
    log,
    busy,
    count: (kind, outcome) => metrics.mailDeliveries.inc({ kind, outcome }),
  });
  return { outbox: new Outbox(config.baseUrl.hostname, secretBox), transport, worker, devMailbox };
}

export type Running = {
  app: FastifyInstance;
  store: Store;
  mail: Mail;
  /** The address it listens on, e.g. http://127.0.0.1:3000 */
  address: string;
  /** The management listener's address (/metrics, /health), e.g. http://127.0.0.1:9464; undefined with MANAGEMENT_PORT=off. */
  managementAddress: string | undefined;
  stop(): Promise<void>;
};

/** `latchkey serve`: migrate, then answer HTTP and deliver mail in one process. */
export async function serve(config: Config): Promise<Running> {
  configureHashing({ queueMax: config.hashQueueMax });
  const store = openStore(config.database);
  await store.migrate();
  const metrics = createMetrics();
  let app: FastifyInstance | undefined;
  let pressure: RequestPressure | undefined;
  // The worker is built before the server whose logger it writes to.
  const mail = createMail(config, store, metrics, laterLog(() => app?.log), () => pressure?.busy ?? false);
  // Metrics are not the public server's: the management listener serves them.
  app = await buildServer({ store, outbox: mail.outbox, config, devMailbox: mail.devMailbox });
  pressure = new RequestPressure(app.server);
  let management: Management | undefined;
  let address: string;
  try {
    management = await startManagementFor(config, store, metrics, app.log);
    address = await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await management?.close();
    await app.close();
    pressure.stop();
    mail.transport.close();
    await store.close();
    throw error;
  }
  await mail.worker.start();
  const pruner = new Pruner(store, config, app.log);
  pruner.start();
  return {
    app,
    store,
    mail,
    address,
    managementAddress: management?.address,
    async stop() {
      await management?.close();
      await app.close();
      pressure.stop();
      await mail.worker.stop();
      await pruner.stop();
      mail.transport.close();
      await store.close();
    },
  };
}

/** The management listener (/metrics, /health) when MANAGEMENT_PORT is not off; `serve` and `worker` each run one. */
export function startManagementFor(config: Config, store: Store, metrics: Metrics, log: FastifyBaseLogger): Promise<Management | undefined> {
  if (config.management === undefined) return Promise.resolve(undefined);
  return startManagement({ listen: config.management, store, metrics, redisUrl: config.redisUrl, log });
}

/** Each level forwards to a logger that may not exist yet (dropped until it does). */
function laterLog(current: () => WorkerLog | undefined): WorkerLog {
  return {
    info: (event, message) => current()?.info(event, message),
    warn: (event, message) => current()?.warn(event, message),
    error: (event, message) => current()?.error(event, message),
  };
}
