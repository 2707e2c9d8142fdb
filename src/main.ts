// Composition root: config → store → mail → HTTP server and outbox worker.
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { DevMailbox } from './mail/dev-mailbox.ts';
import { Outbox, outboxSecretBox } from './mail/outbox.ts';
import { MailRenderer } from './mail/render.ts';
import { devMailboxTransport, smtpTransport, type MailTransport } from './mail/transport.ts';
import { OutboxWorker } from './mail/worker.ts';
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

type Log = (event: Record<string, unknown>, message: string) => void;

/** The mail side for a store: transport (SMTP, or the dev mailbox with no MAIL_SERVER), renderer and worker. */
export function createMail(config: Config, store: Store, metrics: Metrics, log?: Log, busy?: () => boolean): Mail {
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
  const mail = createMail(config, store, metrics, (event, message) => app?.log.info(event, message), () => pressure?.busy ?? false);
  app = await buildServer({ store, outbox: mail.outbox, config, metrics, devMailbox: mail.devMailbox });
  pressure = new RequestPressure(app.server);
  const address = await app.listen({ port: config.port, host: config.host });
  await mail.worker.start(mail.outbox);
  const pruner = new Pruner(store, config, app.log);
  pruner.start();
  return {
    app,
    store,
    mail,
    address,
    async stop() {
      await app.close();
      pressure.stop();
      await mail.worker.stop();
      await pruner.stop();
      mail.transport.close();
      await store.close();
    },
  };
}
