// A counting SMTP server for bench/mail-throughput.ts, in a process of its own
// so it does not share an event loop with what it measures. It accepts every
// message, counts those whose DATA it received in full, and talks to its
// parent over IPC: it sends { port } once listening; to { until: n } it
// answers { count } as soon as it has counted n messages in all. With
// { record: true } it also notes each message's Message-ID and arrival time
// (epoch ms with a fraction, performance.timeOrigin + performance.now(), end of DATA) and hands them over, and forgets them, on
// { arrivals: true } as { arrivals: [[messageId, ms], …] } (bench/load.ts).
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

if (process.send === undefined) throw new Error('bench/smtp-server.ts runs as a child with an IPC channel');
const send = process.send.bind(process);

let count = 0;
let until = Infinity;
let record = false;
let arrivals: [string, number][] = [];

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
    // The headers come first; the Message-ID is looked for in the first few kilobytes only.
    let head = '';
    if (record) stream.on('data', (chunk: Buffer) => { if (head.length < 16384) head += chunk.toString('latin1'); });
    stream.on('end', () => {
      count++;
      if (record) arrivals.push([/^Message-ID:\s*(<[^>]*>)/im.exec(head)?.[1] ?? '', performance.timeOrigin + performance.now()]);
      callback();
      check();
    });
    stream.resume();
  },
});
server.on('error', () => {});

process.on('message', (message: { until?: number; record?: boolean; arrivals?: boolean }) => {
  if (message.record !== undefined) record = message.record;
  if (message.arrivals === true) {
    send({ arrivals });
    arrivals = [];
  }
  if (typeof message.until === 'number') {
    until = message.until;
    check();
  }
});
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => send({ port: (server.server.address() as AddressInfo).port }));
