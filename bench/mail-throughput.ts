// Mail throughput: messages per second from outbox rows to an SMTP server in
// another process (bench/smtp-server.ts), against the limit measured in the
// same run — Nodemailer's pooled transport, the worker's own configuration,
// sending the same rendered messages straight from memory to the same server.
// On SQLite and (when reachable) PostgreSQL. Also the delay from committing one
// message to its arrival when the worker is idle: woken in-process (what
// `serve` does after a request) and, on PostgreSQL, by NOTIFY from another
// connection (a separate `latchkey worker`).
//
//   MESSAGES=2000 ROUNDS=3 IDLE_RUNS=50 DATABASES=sqlite,postgres node --disable-warning=ExperimentalWarning bench/mail-throughput.ts
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { loadConfig, type Config } from '../src/config.ts';
import { createMail } from '../src/main.ts';
import type { Message } from '../src/mail/messages.ts';
import { Outbox, outboxSecretBox } from '../src/mail/outbox.ts';
import { MailRenderer } from '../src/mail/render.ts';
import { smtpTransport, type OutgoingMail } from '../src/mail/transport.ts';
import { createMetrics } from '../src/metrics.ts';
import { OutboxQueue } from '../src/store/outbox-queue.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { createDatabase, testSecretKey, type DatabaseKind } from '../test/support/databases.ts';
import { median } from './load/report.ts';
import { benchDatabases } from './load/seed.ts';

const messages = Number(process.env.MESSAGES ?? 2000);
const rounds = Number(process.env.ROUNDS ?? 3);
const idleRuns = Number(process.env.IDLE_RUNS ?? 50);
const baseUrl = 'https://accounts.latchkey.test';

/** The SMTP server process, and a way to wait until it has counted n messages in all. */
class CountingServer {
  readonly #child: ChildProcess;
  #waiter: ((count: number) => void) | undefined;
  total = 0;
  port = 0;

  constructor() {
    this.#child = fork(fileURLToPath(new URL('./smtp-server.ts', import.meta.url)), [], {
      execArgv: ['--disable-warning=ExperimentalWarning'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (message: { port?: number; count?: number }) => {
      if (message.port !== undefined) this.port = message.port;
      if (message.count !== undefined) this.#waiter?.(message.count);
    });
  }

  async ready(): Promise<this> {
    while (this.port === 0) await once(this.#child, 'message');
    return this;
  }

  /** Resolves when `more` messages beyond those expected so far have arrived. */
  arrived(more: number): Promise<void> {
    this.total += more;
    return new Promise((resolve) => {
      this.#waiter = () => { this.#waiter = undefined; resolve(); };
      this.#child.send({ until: this.total });
    });
  }

  stop(): void {
    this.#child.disconnect();
  }
}

function confirmMessage(i: number, now: number): Message {
  const expiresAt = now + 86_400_000;
  return {
    kind: 'confirm',
    to: `bench-${i}@example.com`,
    params: { name: `Bench User ${i}`, link: `${baseUrl}/confirm?token=${'t'.repeat(43)}${i}`, expires_at: new Date(expiresAt).toISOString() },
    expiresAt,
  };
}

async function enqueueAll(store: Store, outbox: Outbox, count: number, offset: number): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    await store.transaction((tx) => outbox.enqueue(tx, confirmMessage(offset + i, now)));
  }
}

/** Polls (every 2 ms, from the last arrival on) until no outbox row is pending; a failed row ends the bench. */
async function untilAllSent(store: Store): Promise<void> {
  for (;;) {
    const stats = await new OutboxQueue(store).stats(Date.now());
    if (stats.failed !== 0) throw new Error(`outbox: ${stats.failed} failed`);
    if (stats.pending === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

type Result = { kind: DatabaseKind; limit: number; outbox: number; ratio: number; limitCpu: number; outboxCpu: number; outboxLoop: number; wakeP50: number; notifyP50: number | undefined };

async function measure(kind: DatabaseKind, server: CountingServer): Promise<Result> {
  const database = await createDatabase(kind);
  const config: Config = loadConfig({ DATABASE_URL: database.url, BASE_URL: baseUrl, MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(server.port), LOG_LEVEL: 'silent', SECRET_KEY: testSecretKey });
  const store = openStore(config.database);
  await store.migrate();
  try {
    // The limit: the same rendered messages, from memory, through a transport configured as the worker's.
    const renderer = new MailRenderer({ appName: config.appName, baseUrl: config.baseUrl });
    const now = Date.now();
    const rendered: OutgoingMail[] = await Promise.all(Array.from({ length: messages }, async (_, i) => {
      const message = confirmMessage(i, now);
      return {
        from: config.mailSender,
        to: message.to,
        ...renderer.render(message.kind, message.params, now),
        messageId: `<limit-${i}@latchkey.test>`,
        date: new Date(now),
      };
    }));
    // Rounds alternate between the two, so that load from elsewhere on the
    // machine falls on both alike; round 0 of each warms up.
    const limitRates: number[] = [];
    const outboxRates: number[] = [];
    // This process's CPU time per message (user + system), to tell what the outbox adds.
    const limitCpu: number[] = [];
    const outboxCpu: number[] = [];
    const cpuMicros = (since: NodeJS.CpuUsage) => { const used = process.cpuUsage(since); return used.user + used.system; };
    // The event loop's busy time per message: what mail takes from request handling
    // in a `serve` (the rest of the CPU above is the SMTP thread's).
    const outboxLoop: number[] = [];
    const loopMicros = (since: EventLoopUtilization) => performance.eventLoopUtilization(since).active * 1000;
    let offset = 0;
    for (let round = 0; round <= rounds; round++) {
      const count = round === 0 ? 200 : messages;
      const direct = smtpTransport(config.smtp!);
      try {
        const arrived = server.arrived(count);
        const cpu = process.cpuUsage();
        const start = performance.now();
        await Promise.all(rendered.slice(0, count).map((m) => direct.send(m)));
        await arrived;
        if (round > 0) limitRates.push(count / ((performance.now() - start) / 1000));
        if (round > 0) limitCpu.push(cpuMicros(cpu) / count);
      } finally {
        direct.close();
      }

      // The outbox: rows committed first (not timed), then the worker started; until every row is marked sent.
      await enqueueAll(store, new Outbox(config.baseUrl.hostname, outboxSecretBox(config.secretKey!)), count, offset);
      offset += count;
      const mail = createMail(config, store, createMetrics());
      const arrived = server.arrived(count);
      const cpu = process.cpuUsage();
      const loop = performance.eventLoopUtilization();
      const start = performance.now();
      await mail.worker.start();
      await arrived;
      // Done when the rows say so: a message that arrived but is not yet marked
      // sent would be sent again after a crash, so its work is not finished.
      await untilAllSent(store);
      const seconds = (performance.now() - start) / 1000;
      if (round > 0) outboxCpu.push(cpuMicros(cpu) / count);
      if (round > 0) outboxLoop.push(loopMicros(loop) / count);
      await mail.worker.stop();
      mail.transport.close();
      if (round > 0) outboxRates.push(count / seconds);
      if (round > 0 && process.env.VERBOSE !== undefined) console.log(`${kind} round ${round}: limit ${limitRates.at(-1)!.toFixed(0)} msg/s, outbox ${outboxRates.at(-1)!.toFixed(0)} msg/s`);
    }
    const stats = await new OutboxQueue(store).stats(Date.now());
    if (stats.pending !== 0 || stats.failed !== 0) throw new Error(`outbox not drained: ${JSON.stringify(stats)}`);

    // Idle: one message at a time, the worker waiting between them.
    const mail = createMail(config, store, createMetrics());
    await mail.worker.start();
    const other = kind === 'postgres' ? openStore(config.database) : undefined;
    const wake: number[] = [];
    const notify: number[] = [];
    try {
      for (let i = 0; i < idleRuns + 5; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        let arrived = server.arrived(1);
        let start = performance.now();
        await store.transaction((tx) => mail.outbox.enqueue(tx, confirmMessage(offset++, Date.now())));
        await arrived;
        if (i >= 5) wake.push(performance.now() - start);
        if (other === undefined) continue;
        // Committed on another connection with no in-process wake-up: only LISTEN/NOTIFY tells the worker.
        await new Promise((resolve) => setTimeout(resolve, 20));
        arrived = server.arrived(1);
        start = performance.now();
        await other.transaction((tx) => mail.outbox.enqueue(tx, confirmMessage(offset++, Date.now())));
        await arrived;
        if (i >= 5) notify.push(performance.now() - start);
      }
    } finally {
      await mail.worker.stop();
      mail.transport.close();
      await other?.close();
    }
    return {
      kind,
      limit: median(limitRates),
      outbox: median(outboxRates),
      // Each round's outbox rate against the limit measured just before it.
      ratio: median(outboxRates.map((rate, i) => rate / limitRates[i]!)),
      limitCpu: median(limitCpu),
      outboxCpu: median(outboxCpu),
      outboxLoop: median(outboxLoop),
      wakeP50: median(wake),
      notifyP50: notify.length === 0 ? undefined : median(notify),
    };
  } finally {
    await store.close();
    await database.drop();
  }
}

const server = await new CountingServer().ready();
const results: Result[] = [];
try {
  for (const kind of (await benchDatabases()).kinds) results.push(await measure(kind, server));
} finally {
  server.stop();
}

console.log(`\nmail throughput: ${messages} messages per round, median of ${rounds} rounds (ratio: median of the rounds' ratios); idle delay: median of ${idleRuns} single messages`);
console.log('idle p50: from committing one message to its arrival, the worker woken in-process (wake) or by LISTEN/NOTIFY from another connection');
console.log('database   limit msg/s   outbox msg/s   ratio   idle p50 (wake)   idle p50 (NOTIFY)   CPU µs/msg limit / outbox   event loop µs/msg outbox');
for (const r of results) {
  const ratio = `${(r.ratio * 100).toFixed(0)}%`;
  console.log(`${r.kind.padEnd(10)} ${r.limit.toFixed(0).padStart(11)}   ${r.outbox.toFixed(0).padStart(12)}   ${ratio.padStart(5)}   ${`${r.wakeP50.toFixed(1)} ms`.padStart(15)}   ${r.notifyP50 === undefined ? '-'.padStart(17) : `${r.notifyP50.toFixed(1)} ms`.padStart(17)}   ${`${r.limitCpu.toFixed(0)} / ${r.outboxCpu.toFixed(0)}`.padStart(25)}   ${r.outboxLoop.toFixed(0).padStart(24)}`);
}
console.log('target: outbox at least 80% of the limit; idle p50 under 50 ms');
