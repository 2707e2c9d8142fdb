// A real SMTP server in a process of its own, for tests that time the server:
// a sink in the test's (or the server's) event loop would take turns with
// what is timed. It accepts every message and keeps it raw; parsing waits
// until the parent asks for a message (test/support/smtp-sink-process.ts).
// IPC: sends { port } once listening; answers { id, mailTo, already } with
// { id, mail: { subject, text, links } } once the (already+1)th message to
// that address has come, and { id, count } with { id, count }.
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

if (process.send === undefined) throw new Error('test/support/smtp-sink-child.ts runs as a child with an IPC channel');
const send = process.send.bind(process);

type Stored = { rcptTo: string[]; raw: Buffer };
type MailRequest = { id: number; mailTo: string; already: number };
type CountRequest = { id: number; count: true };

const received: Stored[] = [];
const waiting = new Set<MailRequest>();

function mailTo(address: string): Stored[] {
  return received.filter((mail) => mail.rcptTo.includes(address.toLowerCase()));
}

/** Answers `request` if its message has come (once: it leaves `waiting` before parsing starts). */
function tryAnswer(request: MailRequest): void {
  const mail = mailTo(request.mailTo)[request.already];
  if (mail === undefined || !waiting.delete(request)) return;
  simpleParser(mail.raw).then((parsed) => {
    const text = parsed.text ?? '';
    send({ id: request.id, mail: { subject: parsed.subject ?? '', text, links: text.match(/https?:\/\/[^\s<>"]+/g) ?? [] } });
  }, (error: Error) => send({ id: request.id, error: error.message }));
}

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      received.push({ rcptTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), raw: Buffer.concat(chunks) });
      callback();
      for (const request of waiting) tryAnswer(request);
    });
  },
});
server.on('error', () => {});

process.on('message', (message: MailRequest | CountRequest) => {
  if ('count' in message) send({ id: message.id, count: received.length });
  else {
    waiting.add(message);
    tryAnswer(message);
  }
});
process.on('disconnect', () => server.close(() => process.exit(0)));

server.listen(0, '127.0.0.1', () => send({ port: (server.server.address() as AddressInfo).port }));
