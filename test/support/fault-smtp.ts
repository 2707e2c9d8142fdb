// A real SMTP server (the `smtp-server` package) for fault tests. It records
// every message whose DATA it received in full, by Message-ID, and answers
// each one as the test decides: accept (250), refuse (4xx/5xx), or drop the
// connection right after the DATA terminator, before any answer — the case
// where the client cannot know whether the message was taken.
import type { AddressInfo, Socket } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export type Verdict = 'accept' | 'drop' | { code: number; message: string };

export type Arrival = {
  messageId: string;
  /** Envelope recipients, as the client gave them in RCPT TO. */
  rcptTo: string[];
  /** How many earlier arrivals had the same Message-ID (0 for the first). */
  attempt: number;
  /** The SMTP session (connection) it came on. */
  session: string;
  /** Whether the connection was TLS (implicit or after STARTTLS). */
  secure: boolean;
  /** The AUTH user of the session, if it logged in. */
  user: string | undefined;
  raw: string;
  /** What the server did: pending while the decision is awaited. */
  outcome: 'pending' | 'accepted' | 'refused' | 'dropped';
};

export type FaultSmtpOptions = {
  /** Decides the answer to a message once its DATA is in; may wait (a slow server). Default: accept. */
  decide?: (arrival: Arrival) => Verdict | Promise<Verdict>;
  /** Other smtp-server options (TLS keys, onAuth, onRcptTo …). */
  server?: SMTPServerOptions;
};

export class FaultSmtp {
  readonly arrivals: Arrival[] = [];
  /** Errors the server reported (failed TLS handshakes, sockets cut). */
  readonly errors: Error[] = [];
  /** TCP connections opened to the server. */
  connections = 0;
  port = 0;
  readonly #server: SMTPServer;
  readonly #sockets = new Map<number, Socket>();
  readonly #waiters = new Set<() => void>();
  readonly #seen = new Map<string, number>();

  constructor(options: FaultSmtpOptions = {}) {
    const decide = options.decide ?? (() => 'accept' as const);
    const tls = options.server?.key !== undefined;
    this.#server = new SMTPServer({
      authOptional: true,
      disabledCommands: tls ? [] : ['STARTTLS'],
      logger: false,
      ...options.server,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const messageId = /^message-id:[ \t]*(<[^>\r\n]+>)/im.exec(raw.split(/\r?\n\r?\n/, 1)[0] ?? '')?.[1] ?? '(none)';
          const attempt = this.#seen.get(messageId) ?? 0;
          this.#seen.set(messageId, attempt + 1);
          const arrival: Arrival = {
            messageId,
            rcptTo: session.envelope.rcptTo.map((r) => r.address),
            attempt,
            session: session.id,
            secure: session.secure,
            user: session.user,
            raw,
            outcome: 'pending',
          };
          this.arrivals.push(arrival);
          this.#notify();
          Promise.resolve(decide(arrival)).then((verdict) => {
            const socket = this.#sockets.get(session.remotePort);
            if (verdict === 'drop' || socket === undefined || socket.destroyed) {
              // The terminator is in; the client never hears an answer.
              arrival.outcome = 'dropped';
              socket?.destroy();
            } else if (verdict === 'accept') {
              arrival.outcome = 'accepted';
              callback(null, 'OK: queued');
            } else {
              arrival.outcome = 'refused';
              callback(Object.assign(new Error(verdict.message), { responseCode: verdict.code }));
            }
            this.#notify();
          }, (error: unknown) => callback(error as Error));
        });
      },
    });
    // A client that gives up a TLS handshake (an untrusted certificate) is an
    // 'error' on the server; without a listener it would crash the test.
    this.#server.on('error', (error) => this.errors.push(error));
    this.#server.server.on('connection', (socket: Socket) => {
      this.connections++;
      const port = socket.remotePort!;
      this.#sockets.set(port, socket);
      socket.once('close', () => { if (this.#sockets.get(port) === socket) this.#sockets.delete(port); });
    });
  }

  /** Listens on `port` (0: a free one). */
  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => { this.#server.server.off('error', reject); resolve(); });
    });
    this.port = (this.#server.server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening and cuts every open connection (smtp-server alone would wait 30 s for them). */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets.values()) socket.destroy();
    await closed;
  }

  /** Client connections open now. */
  get openConnections(): number {
    return this.#sockets.size;
  }

  /** Arrivals the server answered 250. */
  accepted(): Arrival[] {
    return this.arrivals.filter((a) => a.outcome === 'accepted');
  }

  /** Arrivals per Message-ID. */
  byMessageId(): Map<string, Arrival[]> {
    const map = new Map<string, Arrival[]>();
    for (const arrival of this.arrivals) {
      const list = map.get(arrival.messageId) ?? [];
      list.push(arrival);
      map.set(arrival.messageId, list);
    }
    return map;
  }

  /** Resolves once `condition` holds, re-checked at each arrival or answer; throws after `timeoutMs`. */
  async waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: not within ${timeoutMs} ms (${this.arrivals.length} arrivals, ${this.accepted().length} accepted)`);
      await new Promise<void>((resolve) => {
        const wake = () => { clearTimeout(timer); this.#waiters.delete(wake); resolve(); };
        const timer = setTimeout(wake, Math.min(left, 250));
        this.#waiters.add(wake);
      });
    }
  }

  #notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
