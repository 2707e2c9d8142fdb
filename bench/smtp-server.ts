// A counting SMTP server for bench/mail-throughput.ts, in a process of its own
// so it does not share an event loop with what it measures. It accepts every
// message, counts those whose DATA it received in full, and talks to its
// parent over IPC: it sends { port } once listening; to { until: n } it
// answers { count } as soon as it has counted n messages in all.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

if (process.send === undefined) throw new Error('bench/smtp-server.ts runs as a child with an IPC channel');
const send = process.send.bind(process);

let count = 0;
let until = Infinity;

function check(): void {
  if (count >= until) {
    until = Infinity;
    send({ count });
  }
}

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, _session, callback) {
    stream.on('end', () => {
      count++;
      callback();
      check();
    });
    stream.resume();
  },
});
server.on('error', () => {});

process.on('message', (message: { until?: number }) => {
  if (typeof message.until === 'number') {
    until = message.until;
    check();
  }
});
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => send({ port: (server.server.address() as AddressInfo).port }));
