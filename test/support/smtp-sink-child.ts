// The suite's SMTP fake (test/support/smtp-sink.ts) in a process of its own,
// for tests that time the server: a sink in the test's (or the server's) event
// loop would take turns with what is timed. It keeps each message raw;
// parsing waits until the parent asks for a message
// (test/support/smtp-sink-process.ts).
// IPC: sends { port } once listening; answers { id, mailTo, already } with
// { id, mail: { subject, text, links } } once the (already+1)th message to
// that address has come, and { id, count } with { id, count }.
import { parsedMail, SmtpSink } from './smtp-sink.ts';

if (process.send === undefined) throw new Error('test/support/smtp-sink-child.ts runs as a child with an IPC channel');
const send = process.send.bind(process);

type MailRequest = { id: number; mailTo: string; already: number };
type CountRequest = { id: number; count: true };

const sink = await new SmtpSink({ parse: false }).start();

function mailTo(address: string) {
  return sink.accepted().filter((arrival) => arrival.rcptTo.some((r) => r.toLowerCase() === address.toLowerCase()));
}

/** Answers once the message has come (the parent gives up on its own deadline). */
async function answer(request: MailRequest): Promise<void> {
  await sink.waitUntil(() => mailTo(request.mailTo).length > request.already, 3_600_000, `mail to ${request.mailTo}`);
  const mail = await parsedMail(mailTo(request.mailTo)[request.already]!);
  send({ id: request.id, mail: { subject: mail.subject, text: mail.text, links: mail.links } });
}

process.on('message', (message: MailRequest | CountRequest) => {
  if ('count' in message) send({ id: message.id, count: sink.accepted().length });
  else answer(message).catch((error: Error) => send({ id: message.id, error: error.message }));
});
process.on('disconnect', () => { void sink.stop().then(() => process.exit(0)); });

send({ port: sink.port });
