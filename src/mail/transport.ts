// Where rendered mail goes: a real SMTP server through Nodemailer's pooled
// transport (in a thread of its own), or, with no MAIL_SERVER, the dev
// mailbox. Both build the same MIME message through Nodemailer, so dev mode
// exercises the real path. Nodemailer is loaded on the first message, not at
// start: memory that a process with nothing to send (`migrate`, a `serve`
// beside a `latchkey worker`, or one at rest) never needs.
import type { Transporter, TransportOptions } from 'nodemailer';
import { Piscina } from 'piscina';
import type { SmtpConfig } from '../config.ts';
import type { DevMailbox } from './dev-mailbox.ts';

export type OutgoingMail = {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  date: Date;
};

export type MailTransport = {
  /** Resolves with the server's answer; rejects with Nodemailer's error (code, responseCode, permanent): see isPermanentFailure. */
  send(mail: OutgoingMail): Promise<string>;
  close(): void;
};

/**
 * Whether a failed send will fail again however often it is retried. Only the
 * server's final word on this message is permanent: a 5xx to its sender,
 * recipient or content (EENVELOPE, EMESSAGE), or an address refused before
 * sending. A refusal of the session itself (greeting, STARTTLS, AUTH) is a
 * relay or configuration problem that, once fixed, lets the mail go.
 */
export function isPermanentFailure(error: unknown): boolean {
  const e = error as { permanent?: boolean; code?: string; responseCode?: number };
  if (e.code !== 'EENVELOPE' && e.code !== 'EMESSAGE') return false;
  return e.permanent === true || e.responseCode === undefined;
}

/** A failed send in one line for an operator: Nodemailer's code, the SMTP reply code and the server's answer. */
export function describeFailure(error: unknown): string {
  const e = error as { code?: string; responseCode?: number; response?: string; message?: string };
  return [e.code, e.responseCode, e.response ?? e.message].filter((p) => p !== undefined).join(' ').slice(0, 500);
}

/**
 * A Nodemailer transporter made on the first send. close() ends it if it was
 * made; one still being made when close() came is ended as soon as it is.
 */
function lazyTransporter(options: TransportOptions | Record<string, unknown>, closeMade: (t: Transporter) => void): { get(): Promise<Transporter>; close(): void } {
  let made: Transporter | undefined;
  let making: Promise<Transporter> | undefined;
  let closed = false;
  return {
    get: () => making ??= import('nodemailer').then(({ default: nodemailer }) => {
      made = nodemailer.createTransport(options);
      if (closed) closeMade(made);
      return made;
    }),
    close() {
      closed = true;
      if (made !== undefined) closeMade(made);
    },
  };
}

/**
 * Nodemailer's pooled SMTP transport, in a thread of its own (smtp-thread.js)
 * started on the first message: building and sending a message there leaves
 * the event loop free for requests. It holds every message in flight at once
 * (the worker's concurrency), over at most 5 connections.
 */
export function smtpTransport(config: SmtpConfig): MailTransport {
  let pool: Piscina<OutgoingMail, SendOutcome> | undefined;
  let closed = false;
  return {
    async send(mail) {
      // No thread is started again once closed: it would outlive its owner.
      if (closed) throw new Error('the SMTP transport is closed');
      pool ??= new Piscina<OutgoingMail, SendOutcome>({
        filename: new URL('./smtp-thread.js', import.meta.url).href,
        workerData: nodemailerOptions(config),
        minThreads: 0,
        maxThreads: 1,
        concurrentTasksPerWorker: 256,
        // The thread waits on its message port, not with Atomics.wait: its own event loop runs the sockets.
        atomics: 'disabled',
        // Kept while mail comes at least every minute, with its connections; a process at rest gets its memory back.
        idleTimeout: 60_000,
      });
      const outcome = await pool.run(mail);
      if ('failure' in outcome) throw Object.assign(new Error(outcome.failure.message), outcome.failure);
      return outcome.response;
    },
    // Called after the worker stopped: a delivery still going then has had its
    // lease released to another worker, so it is cut off with the thread, not left to finish.
    close() {
      closed = true;
      void pool?.destroy();
    },
  };
}

/** What smtp-thread.js answers: the server's answer, or the error's fields (an Error crossing threads keeps only its message). */
type SendOutcome = { response: string } | { failure: { message: string; code?: string; responseCode?: number; response?: string; command?: string; permanent?: boolean } };

function nodemailerOptions(config: SmtpConfig) {
  return {
    pool: true,
    maxConnections: 5,
    host: config.host,
    port: config.port,
    secure: config.implicitTls,
    requireTLS: config.startTls,
    ignoreTLS: !config.startTls && !config.implicitTls,
    auth: config.username === undefined ? undefined : { user: config.username, pass: config.password ?? '' },
    // Certificates are always verified; a private CA is added to the trusted ones, never a bypass.
    tls: config.ca === undefined ? undefined : { ca: config.ca },
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  };
}

export function devMailboxTransport(mailbox: DevMailbox): MailTransport {
  const transporter = lazyTransporter({ streamTransport: true, buffer: true, newline: 'unix' }, (t) => t.close());
  return {
    async send(mail) {
      const info = await (await transporter.get()).sendMail(mail);
      mailbox.add({ ...mail, raw: String(info.message) });
      return 'stored in the dev mailbox';
    },
    close: () => transporter.close(),
  };
}
