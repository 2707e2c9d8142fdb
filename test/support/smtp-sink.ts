// The one SMTP fake of the suite: a real SMTP server (the `smtp-server`
// package) on a port of its own. By default it accepts every message and keeps
// it, parsed by mailparser, for tests to wait on. Fault tests set how it
// answers each message once its DATA is in — accept (250), refuse (4xx/5xx), or
// drop the connection before any answer, the case where the client cannot know
// whether the message was taken — and can take it "down" while it keeps its
// port: then every connection is reset at once (the client's connect fails
// with ECONNRESET, as fast as a refused one), and no other process can take
// the port meanwhile, as it could if the test closed it.
// test/support/smtp-sink-child.ts runs this same fake in a process of its own.
import type { AddressInfo, Socket } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export type ReceivedMail = {
  /** Envelope recipients, as the client gave them in RCPT TO. */
  rcptTo: string[];
  raw: string;
  parsed: ParsedMail;
  subject: string;
  text: string;
  html: string;
  /** Every http(s) link in the text part. */
  links: string[];
};

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

export type SmtpSinkOptions = {
  /** Decides the answer to a message once its DATA is in; may wait (a slow server). Default: accept. */
  decide?: (arrival: Arrival) => Verdict | Promise<Verdict>;
  /** Other smtp-server options (TLS keys, onConnect, onAuth, onRcptTo …). */
  server?: SMTPServerOptions;
  /** Parse accepted mail into `received` (default). Off, only `arrivals` keeps it, raw: for a sink that parses on request. */
  parse?: boolean;
  /** Start down (see `down`). */
  down?: boolean;
};

export class SmtpSink {
  /** Accepted mail, parsed, in the order it was accepted (empty with `parse: false`). */
  readonly received: ReceivedMail[] = [];
  /** Every message whose DATA came in full, whatever the answer. */
  readonly arrivals: Arrival[] = [];
  /** Errors the server reported (failed TLS handshakes, sockets cut). */
  readonly errors: Error[] = [];
  /** TCP connections opened to the server. */
  connections = 0;
  /** Connections reset while down. */
  refusedConnections = 0;
  port = 0;
  /** While true, every new connection is reset at once (the client sees ECONNRESET); the port stays this sink's. */
  down: boolean;
  readonly #server: SMTPServer;
  readonly #sockets = new Map<number, Socket>();
  readonly #waiters = new Set<() => void>();
  readonly #seen = new Map<string, number>();

  constructor(options: SmtpSinkOptions = {}) {
    const decide = options.decide ?? (() => 'accept' as const);
    const parse = options.parse ?? true;
    const tls = options.server?.key !== undefined;
    this.down = options.down ?? false;
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
          Promise.resolve(decide(arrival)).then(async (verdict) => {
            const socket = this.#sockets.get(session.remotePort);
            if (verdict === 'drop' || socket === undefined || socket.destroyed) {
              // The terminator is in; the client never hears an answer.
              arrival.outcome = 'dropped';
              socket?.destroy();
            } else if (verdict === 'accept') {
              // Kept before the 250: once the client knows it was taken, a test finds it.
              if (parse) this.received.push(await parsedMail(arrival));
              arrival.outcome = 'accepted';
              callback(null, 'OK: queued');
            } else {
              arrival.outcome = 'refused';
              callback(Object.assign(new Error(verdict.message), { responseCode: verdict.code }));
            }
            this.#notify();
          }).catch((error: unknown) => callback(error as Error));
        });
      },
    });
    // A client that gives up a TLS handshake (an untrusted certificate) is an
    // 'error' on the server; without a listener it would crash the test.
    this.#server.on('error', (error) => this.errors.push(error));
    // Before smtp-server's own listener: a connection while down is reset
    // before smtp-server sees it (it then finds the socket closed and lets it be).
    this.#server.server.prependListener('connection', (socket: Socket) => {
      if (this.down) {
        this.refusedConnections++;
        socket.resetAndDestroy();
        return;
      }
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

  /** Accepted mail whose envelope went to `address` (compared case-insensitively). */
  to(address: string): ReceivedMail[] {
    return this.received.filter((m) => m.rcptTo.some((r) => r.toLowerCase() === address.toLowerCase()));
  }

  /** Resolves once `condition` holds, re-checked at each connection, arrival or answer; throws after `timeoutMs`. */
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

  /** Resolves with the first accepted message matching `predicate`, waiting for it up to `timeoutMs`. */
  async waitFor(predicate: (mail: ReceivedMail) => boolean, timeoutMs = 5000): Promise<ReceivedMail> {
    let found: ReceivedMail | undefined;
    await this.waitUntil(() => (found = this.received.find(predicate)) !== undefined, timeoutMs, `a matching mail (received ${this.received.length})`);
    return found!;
  }

  /** The next mail to `address` of which there were `already` before: waits for it. */
  waitForMailTo(address: string, already = 0, timeoutMs = 5000): Promise<ReceivedMail> {
    return this.waitForMailToMatching(address, already, () => true, timeoutMs);
  }

  /** The first mail to `address`, past the `already` it had, that `matches`: mail of an earlier flow may arrive in between. */
  async waitForMailToMatching(address: string, already: number, matches: (mail: ReceivedMail) => boolean, timeoutMs = 5000): Promise<ReceivedMail> {
    let found: ReceivedMail | undefined;
    await this.waitUntil(() => (found = this.to(address).slice(already).find(matches)) !== undefined, timeoutMs, `a mail to ${address} after the first ${already}`);
    return found!;
  }

  #notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}

/** An arrival as a test reads it: subject, text and HTML parts, and the links of the text part. */
export async function parsedMail(arrival: Pick<Arrival, 'rcptTo' | 'raw'>): Promise<ReceivedMail> {
  const parsed = await simpleParser(arrival.raw);
  const text = parsed.text ?? '';
  return {
    rcptTo: arrival.rcptTo,
    raw: arrival.raw,
    parsed,
    subject: parsed.subject ?? '',
    text,
    html: typeof parsed.html === 'string' ? parsed.html : '',
    links: text.match(/https?:\/\/[^\s<>"]+/g) ?? [],
  };
}

/** The token query parameter (or last path segment) of a link. */
export function tokenFromLink(link: string): string {
  const url = new URL(link);
  return url.searchParams.get('token') ?? url.pathname.split('/').at(-1)!;
}
